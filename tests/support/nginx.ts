/**
 * A real nginx for tests and benchmarks: Debian's own /etc/nginx/nginx.conf with only its paths moved into a
 * temporary directory (includes, pid, logs), running in the foreground on loopback ports.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { bannedMapFile } from "../../lib/render/fail2ban";
import { renderNginxHttpConf, renderNginxSite, ReverseProxyOptions } from "../../lib/render/nginx";

export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const { port } = srv.address() as net.AddressInfo;
            srv.close(() => resolve(port));
        });
    });
}

/** Polls `check` every `everyMs` until it holds; throws naming `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, o: { timeoutMs?: number; everyMs?: number } = {}): Promise<void> {
    const end = Date.now() + (o.timeoutMs ?? 15000);
    while (Date.now() < end) {
        if (await check()) return;
        await new Promise((r) => setTimeout(r, o.everyMs ?? 200));
    }
    throw new Error(`timed out waiting for ${what}`);
}

export async function waitForPort(port: number, timeoutMs = 10000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const ok = await new Promise<boolean>((resolve) => {
            const s = net.connect(port, "127.0.0.1", () => {
                s.destroy();
                resolve(true);
            });
            s.once("error", () => resolve(false));
        });
        if (ok) return;
        if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
    }
}

/** Sends `signal`, waits up to `graceMs` for `exited`, then kills the process if it is still there. */
export async function stopProcess(proc: ChildProcess, exited: Promise<void>, signal: NodeJS.Signals, graceMs: number): Promise<void> {
    proc.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
}

/** A self-signed ECDSA P-256 certificate for the given names (the internal-CA/test mode), valid for `days`. */
export function selfSignedCert(dir: string, names: string[], days = 2): { fullchain: string; privkey: string } {
    const fullchain = path.join(dir, "fullchain.pem");
    const privkey = path.join(dir, "privkey.pem");
    const res = spawnSync("openssl", [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", String(days),
        "-subj", `/CN=${names[0]}`, "-addext", `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}`,
        "-keyout", privkey, "-out", fullchain,
    ], { encoding: "utf8" });
    if (res.status !== 0) throw new Error(`openssl failed: ${res.stderr}`);
    return { fullchain, privkey };
}

/** Writes Debian's nginx.conf with its includes pointed at `dir`/conf.d and `dir`/sites-enabled. */
export function debianNginxConf(dir: string): string {
    for (const d of ["conf.d", "sites-enabled", "logs"]) fs.mkdirSync(path.join(dir, d), { recursive: true });
    const debian = fs.readFileSync("/etc/nginx/nginx.conf", "utf8");
    const conf = debian
        .replace(/^user www-data;$/m, "")
        .replace(/^pid \/run\/nginx\.pid;$/m, `pid ${dir}/nginx.pid;`)
        .replace(/\/var\/log\/nginx\//g, `${dir}/logs/`)
        .replace("include /etc/nginx/conf.d/*.conf;", `include ${dir}/conf.d/*.conf;`)
        .replace("include /etc/nginx/sites-enabled/*;", `include ${dir}/sites-enabled/*;`);
    for (const needle of [`pid ${dir}`, `${dir}/conf.d/`, `${dir}/sites-enabled/`]) {
        if (!conf.includes(needle)) throw new Error(`Debian's nginx.conf changed shape: cannot place ${needle}`);
    }
    const file = path.join(dir, "nginx.conf");
    fs.writeFileSync(file, conf);
    return file;
}

/** Where {@link writeProxyInstance} puts the instance's ban list (the app jail's nginx-block-map file). */
export const instanceBanList = (dir: string) => path.join(dir, "banned.map");

/**
 * One nginx instance in `dir` with the rendered reverse proxy: Debian's nginx.conf, the http-context file and the
 * site named `options.name`. Behind a load balancer the http context includes the ban list from
 * {@link instanceBanList} instead of /etc/nginx (empty, as fail2ban's action starts it). Throws unless `nginx -t`
 * accepts it; returns the nginx.conf to start.
 */
export function writeProxyInstance(dir: string, options: ReverseProxyOptions): string {
    const conf = debianNginxConf(dir);
    let httpConf = renderNginxHttpConf(options);
    if (options.loadBalancer) {
        if (!httpConf.includes(`include ${bannedMapFile(options.name)};`)) throw new Error("the http context does not include the ban list");
        httpConf = httpConf.replace(bannedMapFile(options.name), instanceBanList(dir));
        fs.writeFileSync(instanceBanList(dir), "");
    }
    fs.writeFileSync(path.join(dir, "conf.d", `${options.name}.conf`), httpConf);
    fs.writeFileSync(path.join(dir, "sites-enabled", options.name), renderNginxSite(options));
    const t = nginxTest(conf);
    if (t.status !== 0) throw new Error(`nginx -t failed for ${dir}: ${t.output}`);
    return conf;
}

/** `nginx -t` on a config file. */
export function nginxTest(conf: string): { status: number | null; output: string } {
    const res = spawnSync("/usr/sbin/nginx", ["-t", "-c", conf, "-e", path.join(path.dirname(conf), "logs", "startup.log")], { encoding: "utf8" });
    return { status: res.status, output: res.stderr + res.stdout };
}

export type RunningNginx = { process: ChildProcess; stop: () => Promise<void> };

export async function startNginx(conf: string, port: number): Promise<RunningNginx> {
    const proc = spawn("/usr/sbin/nginx", ["-c", conf, "-e", path.join(path.dirname(conf), "logs", "startup.log"), "-g", "daemon off;"], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    proc.stderr?.on("data", (d) => (stderr += d));
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    try {
        await Promise.race([waitForPort(port), exited.then(() => Promise.reject(new Error(`nginx exited: ${stderr}`)))]);
    } catch (err) {
        proc.kill("SIGKILL");
        throw err;
    }
    return {
        process: proc,
        stop: () => stopProcess(proc, exited, "SIGQUIT", 5000),
    };
}
