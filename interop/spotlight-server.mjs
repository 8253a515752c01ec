// spotlight-server.mjs NODE_MODULES: serves Spotlight's own HTTP router (the one its CLI mounts: POST
// /api/:project/envelope/, GET /stream, ...) on 127.0.0.1 at a free port and prints {"port": N} on stdout.
//
// It does not run Spotlight's CLI: the CLI initialises Sentry's SDK with a hard-coded sentry.io DSN and
// reports its own traces and errors there. This script imports the router and @hono/node-server only;
// without Sentry.init the SDK they import sends nothing. The interop test runs it inside a loopback-only
// network namespace as well. It stops on SIGTERM, SIGINT or when stdin closes (its parent went away).
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const modules = process.argv[2];
if (!modules) {
	console.error("usage: node spotlight-server.mjs <path to node_modules>");
	process.exit(2);
}
const load = (path) => import(pathToFileURL(join(modules, path)).href);

const { serve } = await load("@hono/node-server/dist/index.mjs");
const { default: router } = await load("@spotlightjs/spotlight/dist/server/routes/index.js");

const server = serve({ fetch: router.fetch, hostname: "127.0.0.1", port: 0 }, (info) => {
	process.stdout.write(JSON.stringify({ port: info.port }) + "\n");
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
