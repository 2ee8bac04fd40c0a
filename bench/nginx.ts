/**
 * `npm run bench:nginx`: proxied GET throughput and latency of our rendered nginx configuration against stock
 * Debian nginx proxying the same upstream over the same TLS certificate, both on loopback, measured with wrk.
 * Reports requests/s and latency percentiles per run, the medians, and the ratio ours/stock (goal >= 0.95), for:
 * - a single server, keep-alive connections;
 * - a single server, a new TLS connection per request (handshake-bound, as a public site pays for handshakes);
 * - the fleet: each nginx behind HAProxy in TCP mode standing in for the load balancer, ours with the fleet's
 *   configuration (the PROXY protocol header, the client address taken from it), stock without; keep-alive and
 *   handshake-bound.
 *
 * Options (environment): BENCH_DURATION (seconds per run, default 10), BENCH_ROUNDS (default 3),
 * BENCH_CONNECTIONS (default 32), BENCH_OUT (JSON results file, default bench/results/nginx.json).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { startHaproxy } from "../tests/support/haproxy";
import { debianNginxConf, freePort, nginxTest, RunningNginx, selfSignedCert, startNginx, writeProxyInstance } from "../tests/support/nginx";
import { median } from "./stats";

const DOMAIN = "bench.app.example.com";
const duration = Number(process.env.BENCH_DURATION ?? 10);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const out = process.env.BENCH_OUT ?? path.join(__dirname, "results", "nginx.json");

type Sample = { rps: number; p50ms: number; p99ms: number; errors: number };

/** wrk's Lua done() hook prints machine-readable figures. */
const WRK_REPORT = `done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%f p50=%f p99=%f errors=%d\\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout))
end
`;

/** `close`: a new connection (and TLS handshake) for every request. */
function wrk(url: string, script: string, close = false): Sample {
    const res = spawnSync("wrk", ["-t2", `-c${connections}`, `-d${duration}s`, "--latency", "-s", script, "-H", `Host: ${DOMAIN}`, ...(close ? ["-H", "Connection: close"] : []), url], { encoding: "utf8" });
    const m = /RESULT rps=([\d.]+) p50=([\d.]+) p99=([\d.]+) errors=(\d+)/.exec(res.stdout);
    if (res.status !== 0 || !m) throw new Error(`wrk failed: ${res.stderr || res.stdout}`);
    return { rps: Number(m[1]), p50ms: Number(m[2]), p99ms: Number(m[3]), errors: Number(m[4]) };
}


async function main(): Promise<void> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-nginx-"));
    fs.chmodSync(dir, 0o755);
    const running: RunningNginx[] = [];
    try {
        const cert = selfSignedCert(dir, [DOMAIN]);
        const script = path.join(dir, "report.lua");
        fs.writeFileSync(script, WRK_REPORT);

        // The upstream: an nginx that answers every request with a small body, so the proxies are what is measured.
        const upstreamPort = await freePort();
        const upstreamDir = path.join(dir, "upstream");
        const upstreamConf = debianNginxConf(upstreamDir);
        fs.writeFileSync(path.join(upstreamDir, "sites-enabled", "upstream"), `server {\n    listen 127.0.0.1:${upstreamPort};\n    access_log off;\n    location / { return 200 "hello from the app\\n"; }\n}\n`);
        running.push(await startNginx(upstreamConf, upstreamPort));

        // Stock: Debian's nginx.conf with the minimal TLS proxy site a guide would start from.
        const stockPort = await freePort();
        const stockDir = path.join(dir, "stock");
        const stockConf = debianNginxConf(stockDir);
        fs.writeFileSync(
            path.join(stockDir, "sites-enabled", "stock"),
            `server {\n    listen ${stockPort} ssl http2;\n    server_name ${DOMAIN};\n    ssl_certificate ${cert.fullchain};\n    ssl_certificate_key ${cert.privkey};\n` +
                `    location / { proxy_pass http://127.0.0.1:${upstreamPort}; }\n}\n`,
        );

        // Ours: the rendered configuration, ports remapped only.
        const oursPorts = { http: await freePort(), https: await freePort() };
        const options = { name: "webapp", domains: [DOMAIN], upstreamPort, certificate: cert, ports: oursPorts };
        const oursConf = writeProxyInstance(path.join(dir, "ours"), options);
        const t = nginxTest(stockConf);
        if (t.status !== 0) throw new Error(`nginx -t failed for ${stockConf}: ${t.output}`);
        running.push(await startNginx(stockConf, stockPort), await startNginx(oursConf, oursPorts.https));

        // The fleet: both behind HAProxy in TCP mode (the load balancer's stand-in); ours reads the PROXY header.
        const lb = "127.0.0.9";
        const fleetPorts = { http: await freePort(), https: await freePort(), health: await freePort() };
        const fleetOptions = { ...options, ports: { http: fleetPorts.http, https: fleetPorts.https }, loadBalancer: { address: lb, listenAddress: "127.0.0.1", healthPath: "/health", healthPort: fleetPorts.health } };
        running.push(await startNginx(writeProxyInstance(path.join(dir, "fleet"), fleetOptions), fleetPorts.health));
        const lbPorts = { stock: await freePort(), ours: await freePort() };
        const haproxy = await startHaproxy(
            dir,
            [
                "frontend stock_in", `    bind 127.0.0.1:${lbPorts.stock}`, "    default_backend stock_out",
                "frontend ours_in", `    bind 127.0.0.1:${lbPorts.ours}`, "    default_backend ours_out",
                "backend stock_out", `    server stock 127.0.0.1:${stockPort} source ${lb}`,
                "backend ours_out", `    server ours 127.0.0.1:${fleetPorts.https} send-proxy source ${lb}`,
            ],
            lbPorts.ours,
            { timeoutSeconds: 30, threads: 2 },
        );
        try {
            const cases = {
                "single server, keep-alive": { stock: `https://127.0.0.1:${stockPort}/`, ours: `https://127.0.0.1:${oursPorts.https}/`, close: false },
                "single server, a TLS handshake per request": { stock: `https://127.0.0.1:${stockPort}/`, ours: `https://127.0.0.1:${oursPorts.https}/`, close: true },
                "fleet behind the load balancer, keep-alive": { stock: `https://127.0.0.1:${lbPorts.stock}/`, ours: `https://127.0.0.1:${lbPorts.ours}/`, close: false },
                "fleet behind the load balancer, a TLS handshake per request": { stock: `https://127.0.0.1:${lbPorts.stock}/`, ours: `https://127.0.0.1:${lbPorts.ours}/`, close: true },
            };
            const summary = (s: Sample[]) => ({ rps: median(s.map((x) => x.rps)), p50ms: median(s.map((x) => x.p50ms)), p99ms: median(s.map((x) => x.p99ms)), errors: s.reduce((a, x) => a + x.errors, 0) });
            const results = Object.entries(cases).map(([name, c]) => {
                const samples = { stock: [] as Sample[], ours: [] as Sample[] };
                wrk(c.stock, script, c.close); // warm-up of both, not recorded
                wrk(c.ours, script, c.close);
                for (let i = 0; i < rounds; i++) {
                    samples.stock.push(wrk(c.stock, script, c.close));
                    samples.ours.push(wrk(c.ours, script, c.close));
                }
                return { name, stock: { runs: samples.stock, median: summary(samples.stock) }, ours: { runs: samples.ours, median: summary(samples.ours) }, ratio: summary(samples.ours).rps / summary(samples.stock).rps };
            });
            const result = {
                date: new Date().toISOString(),
                machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, nginx: spawnSync("/usr/sbin/nginx", ["-v"], { encoding: "utf8" }).stderr.trim(), haproxy: spawnSync("haproxy", ["-v"], { encoding: "utf8" }).stdout.split("\n")[0] },
                settings: { durationSeconds: duration, rounds, connections, threads: 2 },
                cases: results,
            };
            fs.mkdirSync(path.dirname(out), { recursive: true });
            fs.writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
            const line = (name: string, m: ReturnType<typeof summary>) => `  ${name.padEnd(6)} ${m.rps.toFixed(0).padStart(8)} req/s  p50 ${m.p50ms.toFixed(2)} ms  p99 ${m.p99ms.toFixed(2)} ms  errors ${m.errors}`;
            process.stdout.write(
                [
                    `nginx proxy benchmark (${rounds} rounds x ${duration}s, ${connections} connections, HTTPS on loopback)`,
                    ...results.flatMap((r) => [r.name, line("stock", r.stock.median), line("ours", r.ours.median), `  ratio ours/stock: ${r.ratio.toFixed(3)} (goal >= 0.95)`]),
                    `results: ${out}`,
                    "",
                ].join("\n"),
            );
        } finally {
            await haproxy.stop();
        }
    } finally {
        for (const r of running.reverse()) await r.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

main().catch((err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
});
