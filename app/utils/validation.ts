import { getCountries, parsePhoneNumberFromString, type CountryCode } from "libphonenumber-js/min";
import { z } from "zod";

// Form schemas shared by the browser (instant feedback) and the server (the only check that counts).

export const EmailSchema = z
  .string({ error: "Enter your email address" })
  .trim()
  .min(1, "Enter your email address")
  .max(254, "That email address is too long")
  .pipe(z.email("Enter a valid email address, like name@example.com"))
  .transform((value) => value.toLowerCase());

export const PasswordSchema = z
  .string({ error: "Enter a password" })
  .min(8, "Use at least 8 characters")
  .max(128, "Use at most 128 characters");

export const CurrentPasswordSchema = z.string({ error: "Enter your password" }).min(1, "Enter your password").max(128);

export const DisplayNameSchema = z
  .string({ error: "Enter your name" })
  .trim()
  .min(1, "Enter your name")
  .max(60, "Use at most 60 characters")
  .refine((value) => !/[<>]/.test(value), "Names cannot contain < or >");

const countryCodes = getCountries();

export const CountrySchema = z
  .string({ error: "Choose your country" })
  .refine((value) => (countryCodes as string[]).includes(value), "Choose your country from the list");

export const CodeSchema = z
  .string({ error: "Enter the 8-digit code" })
  .trim()
  .transform((value) => value.replace(/[\s-]/g, ""))
  .pipe(z.string().regex(/^\d{8}$/, "The code is 8 digits"));

let countryList: Array<{ value: string; label: string }> | null = null;

/** Country list for pickers, names in English, sorted by name (built once: Intl.DisplayNames is slow). */
export function countryOptions() {
  if (!countryList) {
    const names = new Intl.DisplayNames(["en"], { type: "region" });
    countryList = countryCodes
      .map((code) => ({ value: code, label: names.of(code) ?? code }))
      .sort((a, b) => a.label.localeCompare(b.label));
  }
  return countryList;
}

/** Parses a phone number (national numbers read in the member's country) into E.164, or null. */
export function toE164(phone: string, country: string): string | null {
  const parsed = parsePhoneNumberFromString(
    phone,
    (countryCodes as string[]).includes(country) ? (country as CountryCode) : undefined,
  );
  return parsed?.isValid() ? parsed.number : null;
}

const ProfileFields = {
  displayName: DisplayNameSchema,
  country: CountrySchema,
  phone: z.string().trim().max(32, "That phone number is too long").optional(),
};

function withPhone<T extends { phone?: string; country: string }>(value: T, ctx: z.RefinementCtx) {
  if (!value.phone) return { ...value, phone: null };
  const e164 = toE164(value.phone, value.country);
  if (!e164) {
    ctx.addIssue({ code: "custom", path: ["phone"], message: "Enter a valid phone number, e.g. +237 6 70 00 00 00" });
    return z.NEVER;
  }
  return { ...value, phone: e164 };
}

export const SignupSchema = z
  .object({
    email: EmailSchema,
    password: PasswordSchema,
    ...ProfileFields,
    ageConfirmed: z.literal("on", { error: "You must be at least 13 years old to use AI Wallet" }),
    termsAccepted: z.literal("on", { error: "Please accept the terms and privacy policy" }),
  })
  .transform(withPhone);

export const ProfileSchema = z.object(ProfileFields).transform(withPhone);

export const LoginSchema = z.object({
  email: EmailSchema,
  password: CurrentPasswordSchema,
  redirectTo: z.string().optional(),
});

/** Finishing a Google sign-up: the sign-up form without email and password (Google proved the address). */
export const GoogleOnboardingSchema = SignupSchema.in.omit({ email: true, password: true }).transform(withPhone);
