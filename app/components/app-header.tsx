import { Form, Link, NavLink, useLocation } from "@remix-run/react";
import { useEffect, useRef } from "react";

export type HeaderUser = { displayName: string; role: "member" | "support" | "admin"; emailVerified: boolean };

// Areas of the app a member can reach; each entry is added when its route exists.
const memberNav = [
  { to: "/generate", label: "Generate" },
  { to: "/history", label: "History" },
  { to: "/wallet", label: "Wallet" },
  { to: "/settings", label: "Settings" },
];

function navClass({ isActive }: { isActive: boolean }) {
  return `rounded-md px-3 py-2 text-sm font-medium ${
    isActive
      ? "bg-brand-50 text-brand-700 dark:bg-zinc-800 dark:text-white"
      : "hover:bg-zinc-100 dark:hover:bg-zinc-800"
  }`;
}

function SignOutButton({ className }: { className: string }) {
  return (
    <Form method="post" action="/logout">
      <button type="submit" className={className}>
        Sign out
      </button>
    </Form>
  );
}

export function AppHeader({ user }: { user: HeaderUser | null }) {
  const menu = useRef<HTMLDetailsElement>(null);
  const location = useLocation();
  // The phone menu is a <details>: it closes as soon as a link or button in it is used, and after any
  // other navigation (back, forward), so it never covers the next page.
  const closeMenu = () => {
    if (menu.current) menu.current.open = false;
  };
  useEffect(closeMenu, [location.key]);
  const closeOnChoice = (event: React.MouseEvent) => {
    if ((event.target as Element).closest("a, button")) closeMenu();
  };
  const links = user
    ? [...memberNav, ...(user.role === "admin" || user.role === "support" ? [{ to: "/admin", label: "Admin" }] : [])]
    : [];
  return (
    <header className="border-b border-zinc-200 bg-white dark:border-zinc-800 dark:bg-zinc-900">
      <div className="mx-auto flex max-w-5xl items-center justify-between gap-4 px-4 py-3">
        <Link to="/" className="text-lg font-bold tracking-tight">
          AI Wallet
        </Link>
        <nav aria-label="Main" className="hidden items-center gap-1 sm:flex">
          {links.map((link) => (
            <NavLink key={link.to} to={link.to} className={navClass}>
              {link.label}
            </NavLink>
          ))}
          {user ? (
            <SignOutButton className="ml-2 btn-secondary min-h-9 py-1" />
          ) : (
            <>
              <NavLink to="/pricing" className={navClass}>
                Pricing
              </NavLink>
              <NavLink to="/login" className={navClass}>
                Sign in
              </NavLink>
              <Link to="/signup" className="ml-1 btn-primary min-h-9 py-1">
                Create account
              </Link>
            </>
          )}
        </nav>
        {/* Phone menu: a native disclosure, so it works before JavaScript loads and with a keyboard. */}
        <details ref={menu} className="relative sm:hidden">
          <summary className="btn-secondary min-h-11 cursor-pointer list-none" aria-label="Menu">
            <span aria-hidden="true">☰</span> Menu
          </summary>
          {/* Listens to the clicks of the links and buttons inside (Enter on a link is a click too). */}
          <nav
            aria-label="Main"
            onClick={closeOnChoice}
            className="absolute right-0 z-20 mt-2 flex w-56 flex-col gap-1 rounded-xl border border-zinc-200 bg-white p-2 shadow-lg dark:border-zinc-800 dark:bg-zinc-900"
          >
            {links.map((link) => (
              <NavLink key={link.to} to={link.to} className={navClass}>
                {link.label}
              </NavLink>
            ))}
            {user ? (
              <SignOutButton className="btn-secondary w-full" />
            ) : (
              <>
                <NavLink to="/pricing" className={navClass}>
                  Pricing
                </NavLink>
                <NavLink to="/login" className={navClass}>
                  Sign in
                </NavLink>
                <NavLink to="/signup" className={navClass}>
                  Create account
                </NavLink>
              </>
            )}
          </nav>
        </details>
      </div>
      {user && !user.emailVerified ? (
        <div className="border-t border-amber-200 bg-amber-50 px-4 py-2 text-center text-sm text-amber-900 dark:border-amber-900 dark:bg-amber-950 dark:text-amber-100">
          Confirm your email address to top up and generate.{" "}
          <Link to="/verify" className="font-semibold underline">
            Enter your code
          </Link>
        </div>
      ) : null}
    </header>
  );
}
