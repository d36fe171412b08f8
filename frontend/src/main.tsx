//! Entry point: restores the session from a stored refresh token, then renders the app.
import { render } from "preact";
import { App } from "./app";
import { session } from "./state";
import "./styles.css";

render(<App />, document.getElementById("app")!);
void session.restore();
