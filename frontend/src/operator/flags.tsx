//! Invalid traffic: the flagged devices and accounts, and a form to flag one (its reports are
//! refused from then on and its pending ad revenue clawed back).
import { useState } from "preact/hooks";
import { dataOf } from "../api/client";
import { ErrorMessage } from "../components/form";
import { LoadedView } from "../components/loading";
import { formatMicroCents } from "../lib/money";
import { formatMinute } from "../lib/time";
import { useLoad } from "../lib/use-load";
import { session } from "../state";
import { messageOf } from "../lib/errors";
import { UUID_PATTERN } from "../lib/patterns";
import { ConfirmSubmit, useConfirmation } from "../components/confirm";


function FlagForm({ onFlagged }: { onFlagged: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  // Flagging refuses the subject's reports and claws back its revenue: it asks first.
  const confirmation = useConfirmation();
  const onSubmit = async (event: SubmitEvent) => {
    event.preventDefault();
    if (!confirmation.confirming) {
      confirmation.ask();
      return;
    }
    confirmation.done();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const subject = String(data.get("flag-subject") ?? "").trim();
    const reason = String(data.get("flag-reason") ?? "").trim();
    const body = data.get("flag-kind") === "account" ? { user_id: subject, reason } : { device_id: subject, reason };
    try {
      const flag = await dataOf(session.api.POST("/api/v1/admin/flags", { body }));
      setError(null);
      setDone(`Flagged ${flag.kind} ${flag.subject_id}.`);
      form.reset();
      onFlagged();
    } catch (failure) {
      setDone(null);
      setError(messageOf(failure));
    }
  };
  return (
    <form onSubmit={onSubmit} aria-label="Flag invalid traffic" class="release-form">
      <fieldset>
        <legend>Flag</legend>
        <div class="choices">
          <label class="choice">
            <input type="radio" name="flag-kind" value="device" checked /> A device
          </label>
          <label class="choice">
            <input type="radio" name="flag-kind" value="account" /> An account
          </label>
        </div>
      </fieldset>
      <div class="field">
        <label for="flag-subject">Device or account id</label>
        <input id="flag-subject" name="flag-subject" required pattern={UUID_PATTERN} aria-describedby="flag-subject-hint" />
        <p class="hint" id="flag-subject-hint">
          The UUID, as in the list above or the account's profile.
        </p>
      </div>
      <div class="field">
        <label for="flag-reason">Reason</label>
        <input id="flag-reason" name="flag-reason" required maxLength={500} />
      </div>
      <ErrorMessage message={error} />
      <p class="muted" role="status">
        {done}
      </p>
      <ConfirmSubmit
        label="Flag and claw back"
        confirmLabel="Flag and claw back for good"
        question="Its reports will be refused from now on and its pending ad revenue taken back."
        confirming={confirmation.confirming}
        onCancel={confirmation.done}
      />
    </form>
  );
}

export function Flags() {
  const [flags, reload] = useLoad(() => dataOf(session.api.GET("/api/v1/admin/flags")), []);
  return (
    <>
      <LoadedView loaded={flags}>
        {(list) =>
          list.length === 0 ? (
            <p>No flagged devices or accounts.</p>
          ) : (
            <div class="table-scroll">
              <table class="figures">
                <caption>Flagged devices and accounts</caption>
                <thead>
                  <tr>
                    <th scope="col">Flagged</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Subject</th>
                    <th scope="col">Reason</th>
                    <th scope="col" class="amount">
                      Clawed back
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((flag) => (
                    <tr key={`${flag.kind}-${flag.subject_id}-${flag.flagged_at}`}>
                      <td>{formatMinute(flag.flagged_at)}</td>
                      <td>{flag.kind}</td>
                      <td>
                        <code>{flag.subject_id}</code>
                      </td>
                      <td>{flag.reason}</td>
                      <td class="amount">{formatMicroCents(flag.clawed_back_micro_cents)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </LoadedView>
      <FlagForm onFlagged={reload} />
    </>
  );
}
