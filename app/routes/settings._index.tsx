import { getFormProps, useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { FormMessage, SubmitButton } from "#app/components/forms";
import { ProfileFields } from "#app/components/profile-fields";
import { updateProfile } from "#app/models/account.server";
import { requireUser } from "#app/utils/auth.server";
import { readForm } from "#app/utils/form.server";
import { ProfileSchema } from "#app/utils/validation";

export async function loader({ request }: LoaderFunctionArgs) {
  // The session check reads the member's profile with the session (one statement, session.server.ts).
  const user = await requireUser(request);
  const params = new URL(request.url).searchParams;
  return {
    profile: {
      email: user.email,
      displayName: user.displayName,
      country: user.country,
      phone: user.phone ?? "",
    },
    emailChanged: params.has("emailChanged"),
  };
}

export async function action({ request }: ActionFunctionArgs) {
  const user = await requireUser(request);
  const submission = parseWithZod(await readForm(request), { schema: ProfileSchema });
  if (submission.status !== "success") return data({ result: submission.reply(), saved: false }, { status: 400 });
  await updateProfile(user.id, submission.value);
  return { result: submission.reply(), saved: true };
}

export default function ProfileSettings() {
  const { profile, emailChanged } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const [form, fields] = useForm({
    id: "profile",
    lastResult: actionData?.result,
    defaultValue: profile,
    onValidate: ({ formData }) => parseWithZod(formData, { schema: ProfileSchema }),
    shouldValidate: "onBlur",
    shouldRevalidate: "onInput",
  });
  return (
    <section aria-labelledby="profile-heading">
      <h2 id="profile-heading" className="text-lg font-semibold">
        Profile
      </h2>
      <p className="text-sm text-zinc-600 dark:text-zinc-400">Signed in as {profile.email}.</p>
      {emailChanged ? <FormMessage tone="success" errors={["Your email address was changed."]} /> : null}
      {actionData?.saved ? <FormMessage tone="success" errors={["Profile saved."]} /> : null}
      <Form method="post" className="mt-4 space-y-4 card" {...getFormProps(form)}>
        <FormMessage id={form.errorId} errors={form.errors} />
        <ProfileFields fields={fields} editing />
        <SubmitButton pendingText="Saving…" className="btn-primary">
          Save profile
        </SubmitButton>
      </Form>
    </section>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
