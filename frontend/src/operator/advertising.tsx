//! The operator's advertising console: advertisers, campaigns (CPM, budget, flight; pause, resume,
//! end; spend against budget) and creatives (image upload with its texts, per-field refusals).
import { useEffect, useRef, useState } from "preact/hooks";
import { dataOf, type Schemas } from "../api/client";
import { ApiError } from "../auth/session";
import { ErrorMessage, FieldError, fieldAria } from "../components/form";
import { LoadedView } from "../components/loading";
import { formatCents, formatMicroCents } from "../lib/money";
import { useLoad } from "../lib/use-load";
import { session } from "../state";
import { campaignFromForm, creativeErrorField, formatBasisPoints, nextStatuses, spentBasisPoints, type CampaignField, type CreativeField } from "./campaign-form";
import { messageOf } from "../lib/errors";

type Advertiser = Schemas["AdvertiserView"];
type Campaign = Schemas["CampaignView"];
type Creative = Schemas["CreativeView"];

/** The IAB sizes the server accepts for creatives (it refuses any other, naming the size field). */
const CREATIVE_SIZES: readonly { size: string; name: string }[] = [
  { size: "300x250", name: "medium rectangle" },
  { size: "728x90", name: "leaderboard" },
  { size: "160x600", name: "wide skyscraper" },
  { size: "320x50", name: "mobile banner" },
  { size: "300x600", name: "half page" },
  { size: "970x250", name: "billboard" },
];

/** What the server's text limits are (ads/src/campaigns.rs), so the form stops typing there. */
const HEADLINE_CHARACTERS_MAX = 90;
const BODY_CHARACTERS_MAX = 200;

/** Today as `YYYY-MM-DD` in UTC, the default first day of a new campaign. */
function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function AdvertiserForm({ onCreated }: { onCreated: () => void }) {
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);
  const onSubmit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const name = String(new FormData(form).get("advertiser-name") ?? "").trim();
    try {
      const created = await dataOf(session.api.POST("/api/v1/admin/advertisers", { body: { name } }));
      setMessage({ error: false, text: `Added ${created.name}.` });
      form.reset();
      onCreated();
    } catch (failure) {
      setMessage({ error: true, text: messageOf(failure) });
    }
  };
  return (
    <form onSubmit={onSubmit} aria-label="New advertiser" class="search-form">
      <label for="advertiser-name" class="visually-hidden">
        Advertiser name
      </label>
      <input id="advertiser-name" name="advertiser-name" required maxLength={200} placeholder="Advertiser name" />
      <button type="submit">Add advertiser</button>
      <p class={message?.error ? "error" : "muted"} role="status">
        {message?.text}
      </p>
    </form>
  );
}

function CampaignForm({ advertisers, onCreated }: { advertisers: Advertiser[]; onCreated: () => void }) {
  const [errors, setErrors] = useState<Partial<Record<CampaignField, string>>>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const today = utcDay(new Date());
  const onSubmit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const text = (name: string) => String(data.get(name) ?? "");
    const result = campaignFromForm({
      advertiser_id: text("advertiser_id"),
      name: text("campaign-name"),
      cpm: text("cpm"),
      budget: text("budget"),
      starts_on: text("starts_on"),
      ends_on: text("ends_on"),
    });
    setCreated(null);
    if ("errors" in result) {
      setErrors(result.errors);
      setFailure(null);
      return;
    }
    setErrors({});
    try {
      const campaign = await dataOf(session.api.POST("/api/v1/admin/campaigns", { body: result.request }));
      setFailure(null);
      setCreated(`Campaign ${campaign.name} is running.`);
      form.reset();
      onCreated();
    } catch (error) {
      setFailure(messageOf(error));
    }
  };
  if (advertisers.length === 0) return <p>Add an advertiser first; every campaign belongs to one.</p>;
  return (
    <form onSubmit={onSubmit} aria-label="New campaign" class="release-form" noValidate>
      <div class="field">
        <label for="advertiser_id">Advertiser</label>
        <select id="advertiser_id" name="advertiser_id" {...fieldAria("advertiser_id", { error: errors.advertiser_id })}>
          {advertisers.map((advertiser) => (
            <option key={advertiser.id} value={advertiser.id}>
              {advertiser.name}
            </option>
          ))}
        </select>
        <FieldError id="advertiser_id" message={errors.advertiser_id} />
      </div>
      <div class="field">
        <label for="campaign-name">Campaign name</label>
        <input id="campaign-name" name="campaign-name" maxLength={200} {...fieldAria("campaign-name", { error: errors.name })} />
        <FieldError id="campaign-name" message={errors.name} />
      </div>
      <div class="amounts">
        <div class="field field-inline">
          <label for="cpm">CPM in dollars</label>
          <input id="cpm" name="cpm" inputMode="decimal" {...fieldAria("cpm", { hint: true, error: errors.cpm })} />
          <p class="hint" id="cpm-hint">
            Paid per 1,000 viewable impressions.
          </p>
          <FieldError id="cpm" message={errors.cpm} />
        </div>
        <div class="field field-inline">
          <label for="budget">Budget in dollars</label>
          <input id="budget" name="budget" inputMode="decimal" {...fieldAria("budget", { hint: true, error: errors.budget })} />
          <p class="hint" id="budget-hint">
            The most the campaign may spend.
          </p>
          <FieldError id="budget" message={errors.budget} />
        </div>
      </div>
      <div class="amounts">
        <div class="field field-inline">
          <label for="starts_on">First day (UTC)</label>
          <input id="starts_on" name="starts_on" type="date" defaultValue={today} {...fieldAria("starts_on", { error: errors.starts_on })} />
          <FieldError id="starts_on" message={errors.starts_on} />
        </div>
        <div class="field field-inline">
          <label for="ends_on">Last day (UTC)</label>
          <input id="ends_on" name="ends_on" type="date" {...fieldAria("ends_on", { error: errors.ends_on })} />
          <FieldError id="ends_on" message={errors.ends_on} />
        </div>
      </div>
      <ErrorMessage message={failure} />
      <p class="muted" role="status">
        {created}
      </p>
      <button type="submit">Start the campaign</button>
    </form>
  );
}

const STATUS_ACTIONS = { active: "Resume", paused: "Pause", ended: "End" } as const;

function SpendBar({ campaign }: { campaign: Campaign }) {
  const basis_points = spentBasisPoints(campaign.spent_micro_cents, campaign.budget_cents);
  return (
    <>
      {formatMicroCents(campaign.spent_micro_cents)} of {formatCents(campaign.budget_cents)} ({formatBasisPoints(basis_points)})
      {/* The figures above say it all; the bar repeats them for the eye only. */}
      <span class="spend-bar" aria-hidden="true">
        <span style={{ width: `${basis_points / 100}%` }} />
      </span>
    </>
  );
}

function CampaignTable({ campaigns, advertisers, onChanged }: { campaigns: Campaign[]; advertisers: Advertiser[]; onChanged: () => void }) {
  const [error, setError] = useState<string | null>(null);
  // Ending cannot be undone, so it takes a second click on a button that says so.
  const [confirmingEnd, setConfirmingEnd] = useState<string | null>(null);
  // The clicked End button is gone; keyboard users continue on the one that replaced it.
  const confirmButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (confirmingEnd !== null) confirmButton.current?.focus();
  }, [confirmingEnd]);
  const advertiserName = new Map(advertisers.map((advertiser) => [advertiser.id, advertiser.name]));
  const setStatus = async (id: string, status: "active" | "paused" | "ended") => {
    try {
      await dataOf(session.api.PUT("/api/v1/admin/campaigns/{id}/status", { params: { path: { id } }, body: { status } }));
      setError(null);
      setConfirmingEnd(null);
      onChanged();
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  if (campaigns.length === 0) return <p>No campaigns yet.</p>;
  return (
    <div class="table-scroll">
      <table class="figures">
        <caption>Campaigns</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Advertiser</th>
            <th scope="col" class="amount">
              CPM
            </th>
            <th scope="col">Spent of budget</th>
            <th scope="col">Runs</th>
            <th scope="col">State</th>
          </tr>
        </thead>
        <tbody>
          {campaigns.map((campaign) => (
            <tr key={campaign.id}>
              <td>{campaign.name}</td>
              <td>{advertiserName.get(campaign.advertiser_id) ?? campaign.advertiser_id}</td>
              <td class="amount">{formatCents(campaign.cpm_cents)}</td>
              <td class="spend" data-testid="campaign-spend">
                <SpendBar campaign={campaign} />
              </td>
              <td>
                {campaign.starts_at.slice(0, 10)} to {campaign.ends_at.slice(0, 10)}
              </td>
              <td>
                <span data-testid="campaign-status">{campaign.status}</span>
                <span class="row-actions">
                  {confirmingEnd === campaign.id ? (
                    <>
                      <button type="button" class="button-danger" ref={confirmButton} onClick={() => setStatus(campaign.id, "ended")}>
                        End for good<span class="visually-hidden"> {campaign.name}</span>
                      </button>
                      <button type="button" class="button-secondary" onClick={() => setConfirmingEnd(null)}>
                        Keep<span class="visually-hidden"> {campaign.name}</span>
                      </button>
                    </>
                  ) : (
                    nextStatuses(campaign.status).map((status) => (
                      <button
                        key={status}
                        type="button"
                        class="button-secondary"
                        onClick={() => (status === "ended" ? setConfirmingEnd(campaign.id) : setStatus(campaign.id, status))}
                      >
                        {STATUS_ACTIONS[status]}
                        <span class="visually-hidden"> {campaign.name}</span>
                      </button>
                    ))
                  )}
                </span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ErrorMessage message={error} />
    </div>
  );
}

function CreativeForm({ campaigns, onCreated }: { campaigns: Campaign[]; onCreated: () => void }) {
  const [errors, setErrors] = useState<Partial<Record<CreativeField, string>>>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const open = campaigns.filter((campaign) => campaign.status !== "ended");
  const onSubmit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const text = (name: string) => String(data.get(name) ?? "");
    const file = data.get("image");
    if (!(file instanceof File) || file.size === 0) {
      setErrors({ file: "Choose the image file." });
      document.getElementById("creative-file")?.focus();
      return;
    }
    const upload = new FormData();
    upload.append("file", file, file.name);
    setBusy(true);
    try {
      await dataOf(
        session.api.POST("/api/v1/admin/campaigns/{id}/creatives", {
          params: { path: { id: text("creative-campaign") }, query: { size: text("size"), headline: text("headline"), body: text("body"), link_url: text("link_url") } },
          body: upload,
        }),
      );
      setErrors({});
      setFailure(null);
      form.reset();
      onCreated();
    } catch (error) {
      const field = error instanceof ApiError ? creativeErrorField(error) : null;
      if (field === null) {
        setErrors({});
        setFailure(messageOf(error));
      } else {
        setErrors({ [field]: messageOf(error) });
        setFailure(null);
        document.getElementById(`creative-${field}`)?.focus();
      }
    } finally {
      setBusy(false);
    }
  };
  if (open.length === 0) return <p>Start a campaign first; every creative belongs to one that has not ended.</p>;
  return (
    <form onSubmit={onSubmit} aria-label="New creative" class="release-form">
      <div class="field">
        <label for="creative-campaign">Campaign</label>
        <select id="creative-campaign" name="creative-campaign">
          {open.map((campaign) => (
            <option key={campaign.id} value={campaign.id}>
              {campaign.name}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="creative-size">Size</label>
        <select id="creative-size" name="size" {...fieldAria("creative-size", { error: errors.size })}>
          {CREATIVE_SIZES.map(({ size, name }) => (
            <option key={size} value={size}>
              {size} ({name})
            </option>
          ))}
        </select>
        <FieldError id="creative-size" message={errors.size} />
      </div>
      <div class="field">
        <label for="creative-file">Image</label>
        <input id="creative-file" name="image" type="file" accept="image/png,image/jpeg,image/gif" {...fieldAria("creative-file", { hint: true, error: errors.file })} />
        <p class="hint" id="creative-file-hint">
          PNG, JPEG or GIF of exactly the chosen size, at most 150 KB.
        </p>
        <FieldError id="creative-file" message={errors.file} />
      </div>
      <div class="field">
        <label for="creative-headline">Headline</label>
        <input id="creative-headline" name="headline" required maxLength={HEADLINE_CHARACTERS_MAX} {...fieldAria("creative-headline", { error: errors.headline })} />
        <FieldError id="creative-headline" message={errors.headline} />
      </div>
      <div class="field">
        <label for="creative-body">Text</label>
        <textarea id="creative-body" name="body" rows={2} maxLength={BODY_CHARACTERS_MAX} {...fieldAria("creative-body", { error: errors.body })} />
        <FieldError id="creative-body" message={errors.body} />
      </div>
      <div class="field">
        <label for="creative-link_url">Click URL</label>
        <input
          id="creative-link_url"
          name="link_url"
          type="url"
          required
          placeholder="https://"
          {...fieldAria("creative-link_url", { hint: true, error: errors.link_url })}
        />
        <p class="hint" id="creative-link_url-hint">
          Where a click on the ad goes; https only.
        </p>
        <FieldError id="creative-link_url" message={errors.link_url} />
      </div>
      <ErrorMessage message={failure} />
      <button type="submit" disabled={busy}>
        {busy ? "Uploading…" : "Add the creative"}
      </button>
    </form>
  );
}

/** Every campaign's creatives, newest campaign first, from `GET /admin/campaigns/{id}/creatives`. */
async function loadCreatives(campaigns: Campaign[]): Promise<Creative[]> {
  const lists = await Promise.all(
    campaigns.map((campaign) => dataOf(session.api.GET("/api/v1/admin/campaigns/{id}/creatives", { params: { path: { id: campaign.id } } }))),
  );
  return lists.flat().reverse();
}

function CreativeList({ creatives, campaigns }: { creatives: Creative[]; campaigns: Campaign[] }) {
  const campaignName = new Map(campaigns.map((campaign) => [campaign.id, campaign.name]));
  if (creatives.length === 0) return null;
  return (
    <ul class="creative-list" aria-label="Campaign creatives">
      {creatives.map((creative) => (
        <li key={creative.id} class="card">
          <img
            class="creative-thumbnail"
            src={`/api/v1/ads/creatives/${encodeURIComponent(creative.id)}/image`}
            alt={`The ${creative.size} image of “${creative.headline}”`}
            width={Number(creative.size.split("x")[0])}
            height={Number(creative.size.split("x")[1])}
            loading="lazy"
          />
          <p class="release-title">{creative.headline}</p>
          <p class="muted">
            {campaignName.get(creative.campaign_id) ?? creative.campaign_id} · {creative.size} · {creative.image_content_type}, {Math.ceil(creative.image_bytes / 1024)} KB
          </p>
          {creative.body === "" ? null : <p>{creative.body}</p>}
          <p>
            <a href={creative.link_url} rel="noopener noreferrer" target="_blank">
              {creative.link_url}
            </a>
          </p>
        </li>
      ))}
    </ul>
  );
}

function Creatives({ campaigns }: { campaigns: Campaign[] }) {
  const [creatives, reload] = useLoad(() => loadCreatives(campaigns), [campaigns.map((campaign) => campaign.id).join(",")]);
  return (
    <>
      <CreativeForm campaigns={campaigns} onCreated={reload} />
      <LoadedView loaded={creatives}>{(list) => <CreativeList creatives={list} campaigns={campaigns} />}</LoadedView>
    </>
  );
}

export function Advertising() {
  const [advertisers, reloadAdvertisers] = useLoad(() => dataOf(session.api.GET("/api/v1/admin/advertisers")), []);
  const [campaigns, reloadCampaigns] = useLoad(() => dataOf(session.api.GET("/api/v1/admin/campaigns")), []);
  return (
    <LoadedView loaded={advertisers}>
      {(advertiserList) => (
        <LoadedView loaded={campaigns}>
          {(campaignList) => (
            <>
              <h3>Advertisers</h3>
              {advertiserList.length === 0 ? <p>No advertisers yet.</p> : <p>{advertiserList.map((advertiser) => advertiser.name).join(", ")}</p>}
              <AdvertiserForm onCreated={reloadAdvertisers} />
              <h3>New campaign</h3>
              <CampaignForm advertisers={advertiserList} onCreated={reloadCampaigns} />
              <CampaignTable campaigns={campaignList} advertisers={advertiserList} onChanged={reloadCampaigns} />
              <h3>Creatives</h3>
              <Creatives campaigns={campaignList} />
            </>
          )}
        </LoadedView>
      )}
    </LoadedView>
  );
}
