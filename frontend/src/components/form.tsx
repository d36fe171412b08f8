//! Form pieces shared by every page: a labelled field and an error message that screen readers announce.
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
