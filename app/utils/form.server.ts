// Reading a page form's body. `request.formData()` throws a TypeError for any other Content-Type (a
// script posting JSON or text/plain) and for a multipart body it cannot parse, which Remix turns into a
// 500. Here both become a clear 4xx thrown as a Response, before the action has done anything.

const FORM_TYPES = new Set(["application/x-www-form-urlencoded", "multipart/form-data"]);

export const NOT_A_FORM_MESSAGE =
  "This address takes a form: send it as application/x-www-form-urlencoded or multipart/form-data.";
export const UNREADABLE_FORM_MESSAGE = "The form could not be read. Reload the page and try again.";

/** The media type of a Content-Type header, without parameters, lowercased; "" when there is none. */
export function mediaType(contentType: string | null): string {
  return (contentType ?? "").split(";", 1)[0]!.trim().toLowerCase();
}

function refusal(status: 400 | 415, message: string) {
  return new Response(message, { status, headers: { "Content-Type": "text/plain; charset=utf-8" } });
}

/**
 * The submitted form. Throws a 415 Response when the body is not sent as a form, and a 400 Response
 * when it is but cannot be parsed.
 */
export async function readForm(request: Request): Promise<FormData> {
  if (!FORM_TYPES.has(mediaType(request.headers.get("content-type")))) throw refusal(415, NOT_A_FORM_MESSAGE);
  try {
    return await request.formData();
  } catch {
    throw refusal(400, UNREADABLE_FORM_MESSAGE);
  }
}
