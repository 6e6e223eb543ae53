import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { NavLink, Outlet } from "@remix-run/react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { requireUser } from "#app/utils/auth.server";

export const meta: MetaFunction = () => [{ title: "Settings · AI Wallet" }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requireUser(request);
  return null;
}

const sections = [
  { to: "/settings", label: "Profile", end: true },
  { to: "/settings/password", label: "Password" },
  { to: "/settings/email", label: "Email" },
  { to: "/settings/sessions", label: "Sessions" },
  { to: "/settings/security", label: "Security" },
  { to: "/settings/privacy", label: "Privacy & data" },
];

export default function SettingsLayout() {
  return (
    <div>
      <h1 className="text-2xl font-bold">Settings</h1>
      <nav aria-label="Settings" className="mt-4">
        {/* Wraps on a phone rather than scrolling: every section stays visible. */}
        <ul className="flex flex-wrap gap-x-1 border-b border-zinc-200 dark:border-zinc-800">
          {sections.map((section) => (
            <li key={section.to}>
              <NavLink
                to={section.to}
                end={section.end}
                className={({ isActive }) =>
                  `-mb-px inline-block border-b-2 px-3 py-2 text-sm font-medium whitespace-nowrap ${
                    isActive
                      ? "border-brand-600 text-brand-700 dark:text-white"
                      : "border-transparent hover:border-zinc-300"
                  }`
                }
              >
                {section.label}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <div className="mt-6 max-w-xl">
        <Outlet />
      </div>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
