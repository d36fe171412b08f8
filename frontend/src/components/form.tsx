//! Form pieces shared by every page: a labelled field, an error message that screen readers
//! announce, and per-field errors tied to their control.
interface FieldProps {
  id: string;
  label: string;
  hint?: string;
  type?: "text" | "email" | "password";
  autocomplete?: string;
  required?: boolean;
  minLength?: number;
  maxLength?: number;
}

export function Field({ id, label, hint, type = "text", ...input }: FieldProps) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        name={id}
        // Preact types inputs per literal `type`; these three accept the same attributes.
        type={type as "text"}
        aria-describedby={hint === undefined ? undefined : `${id}-hint`}
        {...input}
      />
      {hint === undefined ? null : (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
    </div>
  );
}

export function ErrorMessage({ message }: { message: string | null }) {
  return (
    <p class="error" role="alert" hidden={message === null}>
      {message}
    </p>
  );
}

/**
 * The ARIA attributes of a control with an optional hint and error below it: the error (when
 * there is one) is read out with the label, and the control is marked invalid.
 */
export function fieldAria(id: string, { hint = false, error }: { hint?: boolean; error?: string | null | undefined }) {
  const described = [hint ? `${id}-hint` : null, error == null ? null : `${id}-error`].filter((part) => part !== null);
  return { "aria-invalid": error == null ? undefined : true, "aria-describedby": described.length === 0 ? undefined : described.join(" ") };
}

/** The error line under one control, named by `fieldAria`'s `aria-describedby`. */
export function FieldError({ id, message }: { id: string; message: string | null | undefined }) {
  if (message == null) return null;
  return (
    <p class="error" id={`${id}-error`}>
      {message}
    </p>
  );
}
