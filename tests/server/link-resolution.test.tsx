import { createRequire } from "node:module";
import { createElement, type ReactNode } from "react";
import { renderToString } from "react-dom/server";
import { describe, expect, it } from "vitest";

// Links resolve their `to` on every server render; patches/ (ADR 0010) give absolute paths a short way
// in React Router's useResolvedPath and @remix-run/router's resolvePathname, and build the router's
// error messages only when they are thrown. Both server builds of React Router (development and
// production) must still resolve every kind of `to` exactly as before.

const require = createRequire(import.meta.url);
type ReactRouter = typeof import("react-router");
const builds: Array<[string, ReactRouter]> = [
  ["development", require("react-router/dist/umd/react-router.development.js") as ReactRouter],
  ["production", require("react-router/dist/umd/react-router.production.min.js") as ReactRouter],
];

type To = Parameters<ReactRouter["useResolvedPath"]>[0];

/** What useResolvedPath gives for each `to`, rendered inside /settings/security (a nested route). */
function resolveAll(router: ReactRouter, targets: To[], relative?: "path" | "route") {
  const { Router, Routes, Route, Outlet, useResolvedPath } = router;
  const resolved: string[] = [];
  function Probe({ to, index }: { to: To; index: number }) {
    const { pathname, search, hash } = useResolvedPath(to, relative ? { relative } : undefined);
    resolved[index] = pathname + search + hash;
    return null;
  }
  const probes = targets.map((to, index) => createElement(Probe, { key: index, to, index }));
  const tree: ReactNode = createElement(
    // A static location, as on the server (MemoryRouter would warn about its layout effect there).
    Router,
    { location: "/settings/security", navigator: {} as Parameters<typeof Router>[0]["navigator"] },
    createElement(
      Routes,
      null,
      createElement(
        Route,
        { path: "settings", element: createElement(Outlet) },
        createElement(Route, { path: "security", element: probes }),
      ),
    ),
  );
  renderToString(tree);
  return resolved;
}

describe.each(builds)("links on the server (%s build)", (_name, router) => {
  it("resolve absolute paths to themselves, and everything else against the route", () => {
    const cases: Array<[To, string]> = [
      ["/generate", "/generate"],
      ["/", "/"],
      ["/wallet/top-ups/", "/wallet/top-ups/"],
      ["/history?page=2#list", "/history?page=2#list"],
      ["/a/./b/../c", "/a/c"],
      ["/a/b/..", "/a"],
      ["//evil.example/x", "//evil.example/x"],
      ["/file.v2.txt", "/file.v2.txt"],
      ["sessions", "/settings/security/sessions"],
      ["..", "/settings"],
      ["../sessions", "/settings/sessions"],
      [".", "/settings/security"],
      ["?tab=2", "/settings/security?tab=2"],
      [{ pathname: "/privacy", search: "?from=footer" }, "/privacy?from=footer"],
      [{ pathname: "../email" }, "/settings/email"],
    ];
    expect(
      resolveAll(
        router,
        cases.map(([to]) => to),
      ),
    ).toEqual(cases.map(([, expected]) => expected));
  });

  it("resolve .. by URL segment with relative=path", () => {
    expect(resolveAll(router, ["..", "../x", "/abs"], "path")).toEqual(["/settings", "/settings/x", "/abs"]);
  });

  it("still refuse a ? or # inside a pathname object, with the router's message", () => {
    expect(() => resolveAll(router, [{ pathname: "/x?y=1" }])).toThrow(
      /Cannot include a '\?' character in a manually specified `to.pathname` field \[\{"pathname":"\/x\?y=1"\}\]/,
    );
    expect(() => resolveAll(router, [{ pathname: "/x#top" }])).toThrow(/Cannot include a '#' character/);
    expect(() => resolveAll(router, [{ pathname: "/x", search: "?a#b" }])).toThrow(
      /Cannot include a '#' character in a manually specified `to.search` field/,
    );
  });
});
