import { Link } from "@remix-run/react";

/**
 * "‹ Newer · Page 2 of 5 · Older ›" under a paginated list (nothing when it fits on one page). `hrefFor`
 * builds the link for a page number, keeping the list's filters.
 */
export function Pager({
  page,
  pageCount,
  hrefFor,
  labels = ["‹ Newer", "Older ›"],
}: {
  page: number;
  pageCount: number;
  hrefFor: (page: number) => string;
  labels?: [previous: string, next: string];
}) {
  if (pageCount <= 1) return null;
  return (
    <nav aria-label="Pages" className="flex items-center justify-between gap-2 text-sm">
      {page > 1 ? (
        <Link to={hrefFor(page - 1)} className="btn-secondary">
          {labels[0]}
        </Link>
      ) : (
        <span />
      )}
      <span>
        Page {page} of {pageCount}
      </span>
      {page < pageCount ? (
        <Link to={hrefFor(page + 1)} className="btn-secondary">
          {labels[1]}
        </Link>
      ) : (
        <span />
      )}
    </nav>
  );
}
