// The switch editor's gateway and DHCP range follow the network as it is typed, while they are
// still what was suggested for the network before (empty: the suggestion for no network yet);
// anything a person typed there stays. The suggestions are the server's (networks/spec/
// defaults.py: suggested_gateway, suggested_range); the server moves them the same way at review
// (networks/forms/follow.py), for a browser without JavaScript.
(function () {
  "use strict";
  const form = document.getElementById("switch-form");
  if (!form || typeof BigInt !== "function") return;

  // Addresses are BigInts, so that IPv4 and IPv6 share one arithmetic.
  function parseV4(text) {
    const parts = text.split(".");
    if (parts.length !== 4) return null;
    let value = 0n;
    for (const part of parts) {
      if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return null;
      value = value * 256n + BigInt(part);
    }
    return value;
  }

  function parseV6(text) {
    if (!/^[0-9A-Fa-f:]+$/.test(text)) return null;
    const halves = text.split("::");
    if (halves.length > 2) return null;
    const head = halves[0] ? halves[0].split(":") : [];
    const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
    const missing = 8 - head.length - tail.length;
    if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
    const groups = head.concat(Array(missing).fill("0"), tail);
    let value = 0n;
    for (const group of groups) {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(group)) return null;
      value = value * 65536n + BigInt(parseInt(group, 16));
    }
    return value;
  }

  function parseAddress(text, version) {
    return version === 4 ? parseV4(text) : parseV6(text);
  }

  // As Python writes them: IPv6 lower case, the longest run of two or more zero groups as "::".
  function formatAddress(value, version) {
    if (version === 4) {
      const bytes = [];
      for (let i = 0; i < 4; i++) {
        bytes.unshift(String(value % 256n));
        value /= 256n;
      }
      return bytes.join(".");
    }
    const groups = [];
    for (let i = 0; i < 8; i++) {
      groups.unshift(value % 65536n);
      value /= 65536n;
    }
    let best = -1, bestLength = 1;
    for (let i = 0; i < 8; ) {
      let j = i;
      while (j < 8 && groups[j] === 0n) j++;
      if (j - i > bestLength) { best = i; bestLength = j - i; }
      i = j === i ? i + 1 : j;
    }
    const hex = groups.map(function (g) { return g.toString(16); });
    if (best < 0) return hex.join(":");
    return hex.slice(0, best).join(":") + "::" + hex.slice(best + bestLength).join(":");
  }

  // "10.1.2.0/24" or "10.1.2.1/24" as {version, first, size}; null until it is one.
  function parseNetwork(text) {
    const match = /^\s*([^\s/]+)\/(\d{1,3})\s*$/.exec(text);
    if (!match) return null;
    const version = match[1].indexOf(":") === -1 ? 4 : 6;
    const bits = version === 4 ? 32 : 128;
    const prefix = Number(match[2]);
    const address = parseAddress(match[1], version);
    if (address === null || prefix > bits) return null;
    const size = 1n << BigInt(bits - prefix);
    return { version: version, first: address - (address % size), size: size, prefix: prefix };
  }

  function sameNetwork(a, b) {
    return a.version === b.version && a.first === b.first && a.size === b.size;
  }

  function suggestedGateway(net) {
    return net.size > 2n ? net.first + 1n : net.first;
  }

  function suggestedRange(net) {
    if (net.version === 6 && net.size >= 0x200n) return [net.first + 0x100n, net.first + 0x1ffn];
    if (net.size < 4n) return null;
    return [net.first + 2n, net.first + net.size - (net.version === 4 ? 2n : 1n)];
  }

  function sameAddresses(tokens, expected, version) {
    if (tokens.length !== expected.length) return false;
    return tokens.every(function (token, i) {
      return parseAddress(token, version) === expected[i];
    });
  }

  function isRange(text, range, version) {
    const lines = text.split("\n").map(function (l) { return l.trim(); }).filter(function (l) {
      return l && l.charAt(0) !== "#";
    });
    if (range === null) return lines.length === 0;
    if (lines.length !== 1) return false;
    return sameAddresses(lines[0].replace(/,/g, " ").split(/\s+/), range, version);
  }

  function show(range, version) {
    return range ? formatAddress(range[0], version) + " " + formatAddress(range[1], version) : "";
  }

  function follow(family) {
    const field = function (name) { return form.elements.namedItem(family + "_" + name); };
    const network = field("network"), gateway = field("gateway");
    const ranges = field("ranges"), suggestedFor = field("suggested_for");
    if (!network || !gateway || !ranges || !suggestedFor || network.disabled) return;
    network.addEventListener("input", function () {
      const now = parseNetwork(network.value);
      if (now === null) return; // half typed: wait for a network
      const before = parseNetwork(suggestedFor.value);
      suggestedFor.value = formatAddress(now.first, now.version) + "/" + now.prefix;
      if (before !== null && (sameNetwork(before, now) || before.version !== now.version)) return;
      const v = now.version;
      const typed = gateway.value.trim() ? gateway.value.trim().split(/\s+/) : [];
      if (sameAddresses(typed, before ? [suggestedGateway(before)] : [], v)) {
        gateway.value = formatAddress(suggestedGateway(now), v);
      }
      if (isRange(ranges.value, before ? suggestedRange(before) : null, v)) {
        ranges.value = show(suggestedRange(now), v);
      }
    });
  }

  follow("ipv4");
  follow("ipv6");
})();
