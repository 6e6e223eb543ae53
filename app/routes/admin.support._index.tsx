import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { MODALITY_LABEL } from "#app/components/generation-output";
import { formatExpiry, timeLeft } from "#app/components/support-access";
import { listActiveGrantsForStaff } from "#app/models/support-access.server";
import { requireRole } from "#app/utils/auth.server";
import { formatDateTime } from "#app/utils/dates";

export const meta: MetaFunction = () => [{ title: "Support access — Admin — AI Wallet" }];

// The grants members have given: who, what (one generation or the whole history), until when. No content
// here; opening a generation (or a member's list) is what is audited.
export async function loader({ request }: LoaderFunctionArgs) {
  await requireRole(request, ["admin", "support"]);
  const now = new Date();
  const grants = await listActiveGrantsForStaff(now);
  return {
    grants: grants.map((grant) => ({
      id: grant.id,
      member: grant.member,
      scope: grant.generation
        ? `One generation: ${MODALITY_LABEL[grant.generation.modality]} · ${grant.generation.modelLabel}, ${formatDateTime(grant.generation.createdAt)}`
        : "Whole history",
      href: grant.generation
        ? `/admin/support/${encodeURIComponent(grant.generation.id)}`
        : `/admin/support/members/${encodeURIComponent(grant.member.id)}`,
      linkText: grant.generation ? "View the generation" : "Browse the history",
      expiresIso: grant.expiresAt.toISOString(),
      expires: formatExpiry(grant.expiresAt),
      left: timeLeft(grant.expiresAt, now),
    })),
  };
}

export default function AdminSupport() {
  const { grants } = useLoaderData<typeof loader>();
  return (
    <div className="mx-auto max-w-3xl space-y-6">
      <p className="text-sm">
        <Link to="/admin" className="link">
          ‹ Admin
        </Link>
      </p>
      <div>
        <h1 className="text-2xl font-bold">Support access</h1>
        <p className="text-sm text-zinc-600 dark:text-zinc-400">
          A member&apos;s prompts, outputs and files can only be opened while the member allows it. These are the
          permissions running now; each ends by itself or when the member revokes it. Every view is written to the{" "}
          <Link to="/admin/audit?action=support.view" className="link">
            audit log
          </Link>
          .
        </p>
      </div>
      {grants.length === 0 ? (
        <p className="card text-sm">
          No member has given support access right now. Ask the member to open the generation in their history (or
          Settings → Privacy &amp; data for their whole history) and choose “Allow support access”.
        </p>
      ) : (
        <ul className="space-y-3" aria-label="Support access given by members">
          {grants.map((grant) => (
            <li key={grant.id} className="card">
              <div className="flex flex-wrap items-start justify-between gap-2">
                <div className="min-w-0">
                  <p className="font-semibold">
                    <Link to={`/admin/members/${encodeURIComponent(grant.member.id)}`} className="link">
                      {grant.member.displayName}
                    </Link>
                  </p>
                  <p className="text-sm break-all text-zinc-600 dark:text-zinc-400">{grant.member.email}</p>
                </div>
                <Link to={grant.href} className="btn-secondary">
                  {grant.linkText}
                </Link>
              </div>
              <dl className="mt-2 grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-sm">
                <dt className="text-zinc-600 dark:text-zinc-400">Scope</dt>
                <dd className="break-words">{grant.scope}</dd>
                <dt className="text-zinc-600 dark:text-zinc-400">Until</dt>
                <dd>
                  <time dateTime={grant.expiresIso}>{grant.expires}</time> ({grant.left})
                </dd>
              </dl>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
