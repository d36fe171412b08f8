//! Upload many files into a draft release, edit it, publish.
import { FEATURES } from "../api/features";
import { ComingSoon } from "../components/coming-soon";

export function UploadPage() {
  return <ComingSoon feature={FEATURES.upload} />;
}
