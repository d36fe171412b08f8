//! A scripted stand-in for XMLHttpRequest in upload tests: records each request, reports upload
//! progress, then answers with the next scripted response.

export class FakeRequest {
  static reset(answers: typeof FakeRequest.answers) {
    FakeRequest.sent = [];
    FakeRequest.answers = answers;
    FakeRequest.inFlight = 0;
    FakeRequest.inFlightMax = 0;
  }

  static sent: { url: string; authorization: string | null; fileName: string | null }[] = [];
  static answers: ({ status: number; body: string } | "network_error")[] = [];
  static inFlight = 0;
  static inFlightMax = 0;
  private listeners = new Map<string, () => void>();
  private uploadListeners = new Map<string, (event: ProgressEvent) => void>();
  private url = "";
  private authorization: string | null = null;
  status = 0;
  responseText = "";
  upload = {
    addEventListener: (type: string, listener: (event: ProgressEvent) => void) => this.uploadListeners.set(type, listener),
  };

  open(_method: string, url: string) {
    this.url = url;
  }
  setRequestHeader(name: string, value: string) {
    if (name === "Authorization") this.authorization = value;
  }
  addEventListener(type: string, listener: () => void) {
    this.listeners.set(type, listener);
  }
  send(form: FormData) {
    const file = form.get("file");
    FakeRequest.sent.push({ url: this.url, authorization: this.authorization, fileName: file instanceof File ? file.name : null });
    const answer = FakeRequest.answers.shift() ?? "network_error";
    FakeRequest.inFlight += 1;
    FakeRequest.inFlightMax = Math.max(FakeRequest.inFlightMax, FakeRequest.inFlight);
    setTimeout(() => {
      FakeRequest.inFlight -= 1;
      const progress = this.uploadListeners.get("progress");
      progress?.({ loaded: 5, total: 10, lengthComputable: true } as ProgressEvent);
      progress?.({ loaded: 10, total: 10, lengthComputable: true } as ProgressEvent);
      if (answer === "network_error") {
        this.listeners.get("error")?.();
        return;
      }
      this.status = answer.status;
      this.responseText = answer.body;
      this.listeners.get("load")?.();
    }, 1);
  }
}

