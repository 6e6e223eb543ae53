import { useEffect, useState } from "react";

/**
 * The server refuses forms whose page was opened at another address than APP_URL (cross-origin guard,
 * server/http.ts). A page opened there could only fail with a generic error, so it says so up front.
 */
export function AppUrlNotice({ appOrigin }: { appOrigin: string | null }) {
  const [openedAt, setOpenedAt] = useState<string | null>(null);
  useEffect(() => {
    if (appOrigin && window.location.origin !== appOrigin) setOpenedAt(window.location.origin);
  }, [appOrigin]);
  if (!openedAt || !appOrigin) return null;
  return (
    <p role="alert" className="bg-amber-100 px-4 py-3 text-center text-sm text-amber-950">
      This page was opened at {openedAt}, but this app is set up for{" "}
      <a className="font-semibold underline" href={appOrigin}>
        {appOrigin}
      </a>
      : forms sent from here will be refused. Open the app at that address (operators: APP_URL).
    </p>
  );
}
