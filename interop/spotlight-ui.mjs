// spotlight-ui.mjs NODE_MODULES URL OUTDIR WANT: opens Spotlight's web UI at URL (a spotlight-server.mjs
// --ui) in Debian's headless Chromium through playwright-core, visits its Errors page and every error, its
// Traces page and every trace, and its Logs page, saves a screenshot of each into OUTDIR, and prints on stdout
// one JSON object: {"pages": {name: {"url", "text", "screenshot"}}, "requests": [urls], "console":
// [messages, failed responses]}. It checks nothing itself: the Go test (spotlightui_test.go) asserts on what
// it prints. WANT is JSON: {"errors": N, "traces": N, "lastLog": "a log body"}, what to wait for.
//
// Run it only inside a loopback-only network namespace: the UI bundle initialises Sentry's browser SDK with
// a sentry.io DSN. Chromium runs with background networking, component updates, sync and QUIC off, on a
// fresh profile directory that is removed afterwards.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules, base, outDir, wantJSON] = process.argv.slice(2);
if (!modules || !base || !outDir || !wantJSON) {
	console.error('usage: node spotlight-ui.mjs <path to node_modules> <UI URL> <screenshot dir> \'{"errors":N,"traces":N,"lastLog":"..."}\'');
	process.exit(2);
}
// want says how many errors and traces to wait for, and a log body that shows the logs have arrived.
const want = JSON.parse(wantJSON);
const { chromium } = await import(pathToFileURL(join(modules, "playwright-core/index.mjs")).href);

const profile = mkdtempSync(join(tmpdir(), "spotlight-ui-chromium-"));
const result = { pages: {}, requests: [], console: [] };
const context = await chromium.launchPersistentContext(profile, {
	executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
	headless: true,
	args: [
		"--headless",
		"--no-sandbox",
		"--disable-gpu",
		"--disable-quic",
		"--no-first-run",
		"--disable-background-networking",
		"--disable-component-update",
		"--disable-sync",
		"--disable-dev-shm-usage", // containers (CI) often have a 64 MB /dev/shm, too small for a renderer
	],
	viewport: { width: 1400, height: 900 },
});
try {
	const page = context.pages()[0] ?? (await context.newPage());
	page.on("request", (req) => result.requests.push(req.url()));
	page.on("response", (res) => res.status() >= 400 && result.console.push(`http ${res.status()}: ${res.url()}`));
	page.on("console", (msg) => result.console.push(`${msg.type()}: ${msg.text()}`));
	page.on("pageerror", (err) => result.console.push(`pageerror: ${err.message}`));

	// record saves what the page shows now: its URL, its text and a screenshot.
	const record = async (name) => {
		const screenshot = join(outDir, `spotlight-${name}.png`);
		await page.screenshot({ path: screenshot });
		result.pages[name] = { url: page.url(), text: await page.locator("body").innerText(), screenshot };
	};
	// settle waits until the page shows marker (a text), or gives up after 15 s and records what is there:
	// the Go test then fails on the text, which says more than a timeout would.
	const settle = async (marker) => {
		try {
			await page.getByText(marker).first().waitFor({ timeout: 15000 });
		} catch {
			result.console.push(`spotlight-ui: ${page.url()} never showed ${marker}`);
		}
		await page.waitForTimeout(300); // late events re-render the page
	};
	// links are the distinct hrefs on the page that contain part, once at least n of them are there.
	const links = async (part, n) => {
		const hrefs = () =>
			page.$$eval(`a[href*="${part}"]`, (as) => [...new Set(as.map((a) => a.getAttribute("href")))]);
		try {
			await page.waitForFunction(
				([p, want]) => new Set([...document.querySelectorAll(`a[href*="${p}"]`)].map((a) => a.getAttribute("href"))).size >= want,
				[part, n],
				{ timeout: 15000 },
			);
		} catch {
			result.console.push(`spotlight-ui: ${page.url()} has fewer than ${n} links to ${part}`);
		}
		return hrefs();
	};
	const open = (path) => page.goto(new URL(path, base).href, { waitUntil: "load" });

	// Every error: the list, then each error's page (its exception and frames).
	await open("/telemetry/errors");
	const errors = await links("/errors/", want.errors);
	await record("errors");
	for (const [i, href] of errors.entries()) {
		await open(href);
		await settle(/ at line /);
		await record(`error-${i + 1}`);
	}
	// Every trace: the list (durations), then each trace's waterfall.
	await open("/telemetry/traces");
	const traces = await links("/traces/", want.traces);
	await record("traces");
	for (const [i, href] of traces.entries()) {
		await open(href);
		await settle(/recorded in \d+ spans?/);
		await record(`trace-${i + 1}`);
	}
	await open("/telemetry/logs");
	await settle(want.lastLog);
	await record("logs");
} finally {
	await context.close();
	rmSync(profile, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(result) + "\n");
