"""The JSON API for automation (`/api/v1/`), on django-ninja: typed schemas give the OpenAPI
document (`/api/v1/schema/`, browsable at `/api/v1/docs/`) from the same code that answers.

Every endpoint reads and changes through what the pages use: objects are fetched through
networks.permissions (404 when not visible, 403 when it may not be changed), changes are jobs
(networks.jobs.create_job) answered `202 Accepted` with the job, and validation is the spec's and
the forms' own (one source of messages). A module per resource: hosts, networks, switches (the
definition: create, edit, XML, delete), leases, guests, jobs, audit, users; `site` puts them
together, `auth` says who asks, `errors` how refusals look.
"""
