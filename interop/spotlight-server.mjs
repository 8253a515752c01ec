// spotlight-server.mjs NODE_MODULES [--ui] [--port N]: serves Spotlight's own HTTP router (the one its CLI
// mounts: POST /api/:project/envelope/, GET /stream, ...) on 127.0.0.1 at port N (default: a free one) and
// prints {"port": N} on stdout.
//
// It does not run Spotlight's CLI: the CLI initialises Sentry's SDK with a hard-coded sentry.io DSN and
// reports its own traces and errors there. This script imports the router and @hono/node-server only;
// without Sentry.init the SDK they import sends nothing. The interop test runs it inside a loopback-only
// network namespace as well. It stops on SIGTERM, SIGINT or when stdin closes (its parent went away).
//
// --ui also serves Spotlight's web UI (the files its CLI serves, listed in dist/ui/manifest.json) at
// http://localhost:N/. That bundle initialises Sentry's browser SDK with a sentry.io DSN of its own, so every
// response carries a Content-Security-Policy whose connect-src allows only this server: a browser refuses
// the bundle's requests to sentry.io (both this header's and the page's own meta policy apply). The UI finds
// its server from the server-timing header Spotlight's CLI sends (sentrySpotlightPort) and then connects to
// http://localhost:N, so that is the URL to open; CORS lets a page opened as http://127.0.0.1:N reach it too.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const usage = "usage: node spotlight-server.mjs <path to node_modules> [--ui] [--port N]";
const [modules, ...flags] = process.argv.slice(2);
if (!modules) {
	console.error(usage);
	process.exit(2);
}
let ui = false;
let port = 0;
for (let i = 0; i < flags.length; i++) {
	if (flags[i] === "--ui") {
		ui = true;
	} else if (flags[i] === "--port" && /^\d+$/.test(flags[i + 1] ?? "")) {
		port = Number(flags[++i]);
	} else {
		console.error(usage);
		process.exit(2);
	}
}
const load = (path) => import(pathToFileURL(join(modules, path)).href);

const { serve } = await load("@hono/node-server/dist/index.mjs");
const { default: router } = await load("@spotlightjs/spotlight/dist/server/routes/index.js");

let app = router;
if (ui) {
	const { Hono } = await load("hono/dist/index.js");
	const { cors } = await load("hono/dist/middleware/cors/index.js");
	const { serveFilesHandler } = await load("@spotlightjs/spotlight/dist/server/handlers/fileToServe.js");
	const uiDir = join(modules, "@spotlightjs/spotlight/dist/ui");
	// As Spotlight's CLI does: index.html and every file of the build manifest, read once.
	const files = Object.create(null);
	files["index.html"] = readFileSync(join(uiDir, "index.html"));
	for (const entry of Object.values(JSON.parse(readFileSync(join(uiDir, "manifest.json"), "utf8")))) {
		if (entry && typeof entry.file === "string") {
			files[entry.file] = readFileSync(join(uiDir, entry.file));
		}
	}
	app = new Hono()
		.use(async (ctx, next) => {
			const p = ctx.env.incoming.socket.localPort;
			await next();
			ctx.header("server-timing", `sentrySpotlightPort;desc=${p}`);
			ctx.header(
				"Content-Security-Policy",
				"default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; " +
					"worker-src 'self' blob:; img-src 'self' data: blob:; font-src 'self' data:; " +
					`connect-src 'self' http://localhost:${p} http://127.0.0.1:${p}`,
			);
		})
		.use(
			cors({
				origin: (origin, ctx) => {
					const p = ctx.env.incoming.socket.localPort;
					return origin === `http://localhost:${p}` || origin === `http://127.0.0.1:${p}` ? origin : null;
				},
			}),
		)
		.route("/", router)
		.get("/*", serveFilesHandler(files));
}

const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port }, (info) => {
	process.stdout.write(JSON.stringify({ port: info.port }) + "\n");
});
server.on("error", (err) => {
	console.error(`spotlight-server: ${err.message}`);
	process.exit(1);
});
const stop = () => {
	server.close();
	server.closeAllConnections?.();
	process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.resume();
