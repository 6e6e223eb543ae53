import { getInputProps, getSelectProps } from "@conform-to/react";
import { Link } from "@remix-run/react";
import { CheckboxField, CountrySelect, Field } from "#app/components/forms";

type Meta = Parameters<typeof getInputProps>[0];

/** Name, country and phone: the profile every account has (sign-up, Google onboarding, settings).
 * `editing`: the member already has a profile, whose phone they may remove. */
export function ProfileFields({
  fields,
  editing = false,
}: {
  fields: { displayName: Meta; country: Meta; phone: Meta };
  editing?: boolean;
}) {
  return (
    <>
      <Field
        label="Display name"
        errors={fields.displayName.errors}
        inputProps={{ ...getInputProps(fields.displayName, { type: "text" }), autoComplete: "name" }}
      />
      <CountrySelect errors={fields.country.errors} selectProps={getSelectProps(fields.country)} />
      <Field
        label="Phone (optional)"
        hint={
          "Used for mobile-money top-ups. Include your country code, or we read it in your country's format." +
          (editing ? " Leave it empty to remove it." : "")
        }
        errors={fields.phone.errors}
        inputProps={{ ...getInputProps(fields.phone, { type: "tel" }), autoComplete: "tel" }}
      />
    </>
  );
}

/** The age confirmation and terms acceptance every new account gives. */
export function ConsentFields({ fields }: { fields: { ageConfirmed: Meta; termsAccepted: Meta } }) {
  return (
    <>
      <CheckboxField
        label="I am at least 13 years old."
        errors={fields.ageConfirmed.errors}
        inputProps={getInputProps(fields.ageConfirmed, { type: "checkbox" })}
      />
      <CheckboxField
        label={
          <>
            I accept the{" "}
            <Link to="/terms" className="link">
              terms
            </Link>{" "}
            and the{" "}
            <Link to="/privacy" className="link">
              privacy policy
            </Link>
            .
          </>
        }
        errors={fields.termsAccepted.errors}
        inputProps={getInputProps(fields.termsAccepted, { type: "checkbox" })}
      />
    </>
  );
}
