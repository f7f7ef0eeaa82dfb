"""Versions of what a page showed, for the changes that are not a network's definition (those
are networks.versions): a guest's NICs, a host's settings, a user's role and grants.

A page carries the version of what it drew in each form (a hidden `version`); the view compares
it with the version of what the database holds now and refuses a stale change, saying what
changed since in words read from the audit trail. A version is `<marker>.<hash>`: the hash is of
the state itself, the marker the last audit entry (or NIC job) about it when the page was drawn,
so that the refusal can list what happened after it.
"""
