import { isRouteErrorResponse, Link, useRouteError, type ErrorResponse } from "@remix-run/react";
import type { ReactNode } from "react";

type StatusHandler = (info: { error: ErrorResponse }) => ReactNode;

const defaultHandlers: Record<number, StatusHandler> = {
  403: () => <ErrorMessage title="Not allowed" detail="You do not have permission to do that." />,
  404: () => (
    <ErrorMessage
      title="Page not found"
      detail="We could not find what you were looking for. It may have moved, or it may not be yours."
    />
  ),
  429: () => <ErrorMessage title="Too many requests" detail="Please wait a moment and try again." />,
};

export function ErrorMessage({ title, detail }: { title: string; detail: string }) {
  return (
    <div className="mx-auto max-w-lg py-16 text-center" role="alert">
      <h1 className="text-2xl font-bold">{title}</h1>
      <p className="mt-3 text-zinc-600 dark:text-zinc-400">{detail}</p>
      <Link to="/" className="mt-6 btn-secondary">
        Go to the home page
      </Link>
    </div>
  );
}

/** The error boundary every route exports: a clear message, never a stack trace. */
export function GeneralErrorBoundary({ statusHandlers }: { statusHandlers?: Record<number, StatusHandler> }) {
  const error = useRouteError();
  if (typeof document !== "undefined") console.error(error);
  if (isRouteErrorResponse(error)) {
    const handler = statusHandlers?.[error.status] ?? defaultHandlers[error.status];
    if (handler) return <>{handler({ error })}</>;
    return (
      <ErrorMessage
        title={`Error ${error.status}`}
        detail={typeof error.data === "string" ? error.data : error.statusText}
      />
    );
  }
  return (
    <ErrorMessage title="Something went wrong" detail="An unexpected error happened. Please try again in a moment." />
  );
}
