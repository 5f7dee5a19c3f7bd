// Headless Chromium against a running `make dev` (BODEGA_BASE_URL):
//
// 1. The API reference: /docs loads with no request leaving this machine,
//    shows every operation of /v1/openapi.json, and "Try it out" on
//    GET /v1/health answers 200. A screenshot is written to the output folder.
// 2. A frontend on another origin (a page on its own port, as a Vite or React
//    dev server would serve it) signs up, signs in and reads /v1/me with
//    fetch, through the devserver's CORS. The same page served from an origin
//    that is not allowed is refused by the browser.
//
// Run by tests/browser/run.sh, which installs playwright-core and Chromium.
import { createServer } from "node:http";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const base = process.env.BODEGA_BASE_URL;
const output = process.env.BODEGA_TEST_OUTPUT;
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
if (!base || !output) {
  console.error("set BODEGA_BASE_URL (a running make dev) and BODEGA_TEST_OUTPUT");
  process.exit(2);
}
mkdirSync(output, { recursive: true });

const failures = [];
function check(condition, message) {
  if (!condition) failures.push(message);
  console.log(`browser: ${condition ? "ok  " : "FAIL"} ${message}`);
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

try {
  await apiReference();
  await crossOriginFrontend();
} finally {
  await browser.close();
}

if (failures.length) {
  console.error(`browser: ${failures.length} check(s) failed:\n  ${failures.join("\n  ")}`);
  process.exit(1);
}
console.log("browser: all checks passed");

async function apiReference() {
  const spec = await (await fetch(`${base}/v1/openapi.json`)).json();
  const operations = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of ["get", "put", "post", "delete", "patch"]) {
      if (item[method]) operations.push({ method, path });
    }
  }

  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const foreign = [];
  const problems = [];
  const origin = new URL(base).origin;
  page.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !url.startsWith("data:")) foreign.push(url);
  });
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(String(error)));
  page.on("response", (response) => {
    if (response.status() >= 400) problems.push(`${response.status()} for ${response.url()}`);
  });

  const response = await page.goto(`${base}/docs`, { waitUntil: "load" });
  check(response.status() === 200, `GET /docs answers 200 (got ${response.status()})`);
  check(
    (response.headers()["content-security-policy"] || "").includes("script-src 'self'"),
    "the docs page has its own Content-Security-Policy",
  );
  await page.waitForSelector(".opblock", { timeout: 30000 });

  const shown = await page.$$eval(".opblock", (blocks) =>
    blocks.map((block) => {
      const method = [...block.classList]
        .find((c) => c.startsWith("opblock-") && !c.startsWith("opblock-summary"))
        ?.slice("opblock-".length);
      const path = block.querySelector(".opblock-summary-path")?.getAttribute("data-path");
      return `${method} ${path}`;
    }),
  );
  const missing = operations.filter(({ method, path }) => !shown.includes(`${method} ${path}`));
  check(
    operations.length > 0 && missing.length === 0,
    `the page shows all ${operations.length} operations of the spec` +
      (missing.length ? ` (missing: ${missing.map((o) => `${o.method} ${o.path}`).join(", ")})` : ""),
  );

  await page.screenshot({ path: join(output, "docs.png") });

  // "Try it out" on GET /v1/health, as a reader would.
  const health = page.locator(".opblock-get", {
    has: page.locator('.opblock-summary-path[data-path="/v1/health"]'),
  });
  await health.locator(".opblock-summary").click();
  await health.locator("button.try-out__btn").click();
  await health.locator("button.execute").click();
  const status = health.locator(".live-responses-table .response .response-col_status").first();
  await status.waitFor({ timeout: 30000 });
  const code = (await status.innerText()).trim();
  check(code === "200", `"Try it out" on GET /v1/health answers 200 (got ${code})`);

  await status.scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(output, "docs-try-it-out.png") });
  check(foreign.length === 0, `the page loads nothing from elsewhere${foreign.length ? `: ${foreign.join(", ")}` : ""}`);
  check(problems.length === 0, `no console errors or CSP violations${problems.length ? `: ${problems.join(" | ")}` : ""}`);
  console.log(`browser: screenshots ${join(output, "docs.png")} and docs-try-it-out.png`);
  await page.close();
}

// The frontend: one page whose script calls the API from its own origin.
function frontendPage(api, email) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>frontend</title></head><body>
<pre id="out">running</pre>
<script type="module">
const api = ${JSON.stringify(api)};
const out = document.getElementById("out");
async function call(method, path, body, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = "Bearer " + token;
  const response = await fetch(api + path, { method, headers, body: body && JSON.stringify(body) });
  return { status: response.status, requestId: response.headers.get("x-request-id"), body: await response.json() };
}
try {
  const password = "a frontend passphrase of some length";
  const registered = await call("POST", "/v1/auth/register", { email: ${JSON.stringify(email)}, password, name: "Frontend" });
  const session = await call("POST", "/v1/auth/login", { email: ${JSON.stringify(email)}, password });
  const me = await call("GET", "/v1/me", null, session.body.data.accessToken);
  out.dataset.result = JSON.stringify({ registered: registered.status, login: session.status, me: me.status, email: me.body.data.email, requestId: me.requestId });
} catch (error) {
  out.dataset.result = JSON.stringify({ error: String(error) });
}
</script></body></html>`;
}

async function serveFrontend(host, email) {
  const server = createServer((request, response) => {
    response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    response.end(frontendPage(base, email));
  });
  await new Promise((resolve) => server.listen(0, host, resolve));
  return server;
}

async function runFrontend(origin, server) {
  const page = await browser.newPage();
  await page.goto(origin);
  await page.waitForFunction(() => document.getElementById("out").dataset.result, null, { timeout: 30000 });
  const result = JSON.parse(await page.$eval("#out", (el) => el.dataset.result));
  await page.close();
  server.close();
  return result;
}

async function crossOriginFrontend() {
  const email = `frontend-${Date.now()}@example.com`;
  const allowed = await serveFrontend("127.0.0.1", email);
  const allowedOrigin = `http://localhost:${allowed.address().port}`;
  const result = await runFrontend(allowedOrigin, allowed);
  check(
    result.registered === 201 && result.login === 200 && result.me === 200 && result.email === email,
    `a page on ${allowedOrigin} signs up, signs in and reads /v1/me (${JSON.stringify(result)})`,
  );
  check(Boolean(result.requestId), "the page can read the exposed x-request-id header");

  // 127.0.0.2 is loopback too, but not an allowed origin.
  const refused = await serveFrontend("127.0.0.2", `refused-${email}`);
  const refusedOrigin = `http://127.0.0.2:${refused.address().port}`;
  const blocked = await runFrontend(refusedOrigin, refused);
  check(
    typeof blocked.error === "string" && blocked.error.includes("Failed to fetch"),
    `a page on ${refusedOrigin} (not an allowed origin) is refused by CORS (${JSON.stringify(blocked)})`,
  );
}
