import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import {
  altFromPrompt,
  formatBytes,
  MODALITY_LABEL,
  ModalityIcon,
  StatusBadge,
  type FileInfo,
} from "#app/components/generation-output";
import { Markdown } from "#app/components/markdown";
import { formatExpiry, timeLeft } from "#app/components/support-access";
import { getGenerationForSupport } from "#app/models/support-access.server";
import { requireRole } from "#app/utils/auth.server";
import { clientIp } from "#app/utils/request.server";
import { formatDateTime } from "#app/utils/dates";

export const meta: MetaFunction = () => [{ title: "Generation — Support access — Admin — AI Wallet" }];

// One member's generation, as the member sees it in their history, while (and only while) the member's
// grant covers it. No grant, an expired or revoked one, or a deleted generation: 404, as for an id that
// does not exist. Each view is audited by the model (support.view); files come through the guarded
// /admin/support/files/:id, never /files/:id (owner only).
export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const staff = await requireRole(request, ["admin", "support"]);
  const view = await getGenerationForSupport(staff, params.id ?? "", clientIp(context));
  if (!view) throw new Response("Not Found", { status: 404 });
  const { generation: row, member, grant } = view;
  const now = new Date();
  return {
    id: row.id,
    member,
    grant: {
      scope: grant.scope,
      expiresIso: grant.expiresAt.toISOString(),
      expires: formatExpiry(grant.expiresAt),
      left: timeLeft(grant.expiresAt, now),
    },
    modality: row.modality,
    modelId: row.modelId,
    modelLabel: row.modelLabel,
    status: row.status,
    createdIso: row.createdAt.toISOString(),
    created: `${formatDateTime(row.createdAt, { seconds: true })}`,
    prompt: row.prompt,
    outputText: row.outputText,
    outcome: row.outcome,
    errorKind: row.errorKind,
    finishReason: row.finishReason,
    inputs: row.inputs,
    outputs: row.outputs,
  };
}

const fileUrl = (id: string) => `/admin/support/files/${encodeURIComponent(id)}`;

const kindOf = (mediaType: string) =>
  mediaType.startsWith("image/")
    ? "image"
    : mediaType.startsWith("audio/")
      ? "audio"
      : mediaType.startsWith("video/")
        ? "video"
        : "other";

export default function SupportGeneration() {
  const row = useLoaderData<typeof loader>();
  return (
    <div className="mx-auto max-w-3xl space-y-6">
      <nav aria-label="Back" className="flex flex-wrap gap-x-4 text-sm">
        <Link to="/admin/support" className="link">
          ‹ Support access
        </Link>
        {row.grant.scope === "history" ? (
          <Link to={`/admin/support/members/${encodeURIComponent(row.member.id)}`} className="link">
            ‹ {row.member.displayName}&apos;s history
          </Link>
        ) : null}
      </nav>
      <div>
        <div className="flex flex-wrap items-center gap-3">
          <h1 className="text-2xl font-bold">
            {MODALITY_LABEL[row.modality]} · {row.modelLabel}
          </h1>
          <StatusBadge status={row.status} />
        </div>
        <p className="mt-1 text-sm break-words text-zinc-600 dark:text-zinc-400">
          <span className="font-mono">{row.modelId}</span> · <time dateTime={row.createdIso}>{row.created}</time>
        </p>
      </div>

      <p className="rounded-lg border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-900 dark:bg-amber-950 dark:text-amber-100">
        Shown with the permission of{" "}
        <Link to={`/admin/members/${encodeURIComponent(row.member.id)}`} className="link">
          {row.member.displayName}
        </Link>{" "}
        ({row.grant.scope === "history" ? "whole history" : "this generation only"}) until{" "}
        <time dateTime={row.grant.expiresIso}>{row.grant.expires}</time> ({row.grant.left}). This view was recorded in
        the audit log.
      </p>

      {row.outcome ? (
        <p className="rounded-lg border border-zinc-200 px-3 py-2 text-sm dark:border-zinc-800">
          {row.outcome}
          {row.errorKind ? <span className="text-zinc-600 dark:text-zinc-400"> (error: {row.errorKind})</span> : null}
        </p>
      ) : null}

      <section aria-labelledby="prompt-heading" className="space-y-4 card">
        <h2 id="prompt-heading" className="text-lg font-semibold">
          Prompt
        </h2>
        <p className="break-words whitespace-pre-wrap">{row.prompt}</p>
        {row.inputs.length ? (
          <div>
            <h3 className="mb-2 text-sm font-medium">Files sent with the prompt</h3>
            <FileList files={row.inputs} prompt={row.prompt} label="Files sent with the prompt" />
          </div>
        ) : null}
      </section>

      <section aria-labelledby="output-heading" className="space-y-4 card">
        <h2 id="output-heading" className="text-lg font-semibold">
          Output
        </h2>
        {row.outputText ? <Markdown text={row.outputText} /> : null}
        {row.outputs.length ? <FileList files={row.outputs} prompt={row.prompt} label="Output files" /> : null}
        {!row.outputText && !row.outputs.length ? (
          <p className="text-sm text-zinc-600 dark:text-zinc-400">This generation has no output.</p>
        ) : null}
        {row.finishReason ? (
          <p className="text-sm text-zinc-600 dark:text-zinc-400">Finish reason: {row.finishReason}</p>
        ) : null}
      </section>
    </div>
  );
}

/** Images, audio and video inline, anything else as a link; every URL goes through the grant check. */
function FileList({ files, prompt, label }: { files: FileInfo[]; prompt: string; label: string }) {
  const images = files.filter((file) => kindOf(file.mediaType) === "image");
  return (
    <ul className="grid gap-4 sm:grid-cols-2" aria-label={label}>
      {files.map((file) => {
        const kind = kindOf(file.mediaType);
        const url = fileUrl(file.id);
        return (
          <li key={file.id} className={`min-w-0 space-y-2 ${kind === "image" ? "" : "sm:col-span-2"}`}>
            {kind === "image" ? (
              <a href={url} target="_blank" rel="noreferrer" className="block">
                <img
                  src={url}
                  alt={altFromPrompt(prompt, images.indexOf(file), images.length)}
                  loading="lazy"
                  className="w-full rounded-lg border border-zinc-200 bg-zinc-100 object-contain dark:border-zinc-800 dark:bg-zinc-800"
                />
              </a>
            ) : kind === "audio" ? (
              <audio controls preload="none" src={url} className="w-full">
                <a href={url}>Download the audio</a>
              </audio>
            ) : kind === "video" ? (
              <video
                controls
                playsInline
                preload="none"
                src={url}
                className="w-full rounded-lg border border-zinc-200 bg-black dark:border-zinc-800"
              >
                <a href={url}>Download the video</a>
              </video>
            ) : (
              <span className="flex size-12 items-center justify-center rounded bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-300">
                <ModalityIcon modality="text" />
              </span>
            )}
            <p className="flex flex-wrap items-baseline gap-x-3 gap-y-1 text-sm text-zinc-600 dark:text-zinc-400">
              <a href={url} className="link break-all">
                {file.originalName ?? `Open ${kind === "other" ? "file" : kind}`}
              </a>
              <span>
                {file.mediaType} · {formatBytes(file.size)}
              </span>
            </p>
          </li>
        );
      })}
    </ul>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
