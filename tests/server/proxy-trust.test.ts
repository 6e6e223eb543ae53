import { describe, expect, it } from "vitest";
import { action as forgotAction } from "#app/routes/forgot-password";
import { parseEnv } from "#app/utils/env.server";
import { consumeRateLimit, rateLimitNetwork } from "#app/utils/rate-limit.server";
import { call, context, postRequest, uniqueEmail } from "#tests/helpers";

// TRUST_PROXY's forms (docs/decisions/0013-proxy-trust.md) and per-IP rate limits that count an IPv6
// client by its /64, since one subscriber usually holds a whole /64.

describe("TRUST_PROXY", () => {
  it("is off by default and for false/0/off", () => {
    for (const value of [undefined, "", "false", "0", "off"]) {
      expect(parseEnv({ TRUST_PROXY: value }).TRUST_PROXY).toBe(false);
    }
  });

  it("takes a hop count", () => {
    expect(parseEnv({ TRUST_PROXY: "1" }).TRUST_PROXY).toBe(1);
    expect(parseEnv({ TRUST_PROXY: " 2 " }).TRUST_PROXY).toBe(2);
  });

  it("takes a list of addresses, ranges and the names proxy-addr knows", () => {
    expect(parseEnv({ TRUST_PROXY: "loopback, 10.0.0.0/8,2001:db8::1" }).TRUST_PROXY).toEqual([
      "loopback",
      "10.0.0.0/8",
      "2001:db8::1",
    ]);
  });

  it("refuses true, which trusted whatever the client wrote, naming the forms to use instead", () => {
    for (const value of ["true", "on", "yes"]) {
      expect(() => parseEnv({ TRUST_PROXY: value })).toThrowError(/TRUST_PROXY: .*number of proxies.*addresses/);
    }
  });

  it("names an entry that is not an address, range or known name", () => {
    expect(() => parseEnv({ TRUST_PROXY: "loopback, 10.0.0.300" })).toThrowError(/TRUST_PROXY: .*10\.0\.0\.300/);
    expect(() => parseEnv({ TRUST_PROXY: "-1" })).toThrowError(/TRUST_PROXY/);
  });
});

describe("per-IP rate limits", () => {
  it("count IPv6 addresses per /64 and IPv4-mapped addresses as IPv4", () => {
    expect(rateLimitNetwork("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(rateLimitNetwork("2001:0db8:0001:0002:ffff:ffff:ffff:ffff")).toBe("2001:db8:1:2::/64");
    expect(rateLimitNetwork("::ffff:192.0.2.4")).toBe("192.0.2.4");
    expect(rateLimitNetwork("192.0.2.4")).toBe("192.0.2.4");
    expect(rateLimitNetwork("unknown")).toBe("unknown");
  });

  it("share one counter between two addresses of the same /64", async () => {
    const rule = { limit: 1, windowSeconds: 60 };
    expect((await consumeRateLimit("test:ip:2001:db8:5:6::1", rule)).allowed).toBe(true);
    expect((await consumeRateLimit("test:ip:2001:db8:5:6:ffff::9", rule)).allowed).toBe(false);
    expect((await consumeRateLimit("test:ip:2001:db8:5:7::1", rule)).allowed).toBe(true);
    expect((await consumeRateLimit("test:ip:::ffff:192.0.2.77", rule)).allowed).toBe(true);
    expect((await consumeRateLimit("test:ip:192.0.2.77", rule)).allowed).toBe(false);
  });

  it("stop a client that changes its address inside its /64 at the route's per-IP limit", async () => {
    const statuses: number[] = [];
    // forgot-password allows 10 requests an hour per client address.
    for (let host = 1; host <= 11; host++) {
      const request = postRequest("/forgot-password", { email: uniqueEmail() });
      statuses.push((await call(forgotAction, request, {}, context(`2001:db8:77:1::${host.toString(16)}`))).status);
    }
    expect(statuses.slice(0, 10).every((status) => status !== 429)).toBe(true);
    expect(statuses[10]).toBe(429);
  });
});
