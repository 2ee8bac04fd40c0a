/**
 * The files a new server boots with, proven by the programs that read them: sshd (against Debian's own main
 * sshd_config) and cloud-init's schema validator.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { renderUserData } from "../lib/render/cloud-init";
import { renderSshdConfig, SSHD_DROPIN_PATH } from "../lib/render/sshd";
import { run, sshKeygen } from "./helpers";

let dir: string;
let hostKey: string;

beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "bootstrap-"));
    fs.mkdirSync("/run/sshd", { recursive: true }); // sshd -t insists on its privilege separation directory
    hostKey = path.join(dir, "ssh_host_ed25519_key");
    expect(run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey]).status).toBe(0);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/**
 * Debian's /etc/ssh/sshd_config with its Include pointed at a test directory that holds our drop-in and a
 * cloud-init drop-in trying to turn password login back on (as `ssh_pwauth: true` would).
 */
function debianSshdConfig(dropIn: string): string {
    const dropDir = fs.mkdtempSync(path.join(dir, "sshd_config.d-"));
    fs.writeFileSync(path.join(dropDir, path.basename(SSHD_DROPIN_PATH)), dropIn);
    fs.writeFileSync(path.join(dropDir, "50-cloud-init.conf"), "PasswordAuthentication yes\n");
    const main = fs.readFileSync("/etc/ssh/sshd_config", "utf8");
    expect(main).toMatch(/^Include \/etc\/ssh\/sshd_config\.d\/\*\.conf$/m);
    const file = path.join(dropDir, "..", `${path.basename(dropDir)}.sshd_config`);
    fs.writeFileSync(file, `HostKey ${hostKey}\n` + main.replace("/etc/ssh/sshd_config.d/*.conf", `${dropDir}/*.conf`));
    return file;
}

function effective(file: string): Map<string, string> {
    const res = run("/usr/sbin/sshd", ["-T", "-f", file, "-C", "user=deploy,host=client.example.com,addr=198.51.100.14"]);
    expect({ status: res.status, stderr: res.stderr }).toEqual({ status: 0, stderr: "" });
    return new Map(res.stdout.trim().split("\n").map((l) => [l.split(" ")[0], l.slice(l.indexOf(" ") + 1)]));
}

describe("sshd drop-in (SSH-1..3)", () => {
    test("sshd -t accepts it inside Debian's sshd_config", () => {
        const res = run("/usr/sbin/sshd", ["-t", "-f", debianSshdConfig(renderSshdConfig({ adminUser: "deploy" }))]);
        expect({ status: res.status, stderr: res.stderr }).toEqual({ status: 0, stderr: "" });
    });

    test("the effective settings are the hardened ones, winning over a later drop-in", () => {
        const cfg = effective(debianSshdConfig(renderSshdConfig({ adminUser: "deploy", port: 2222 })));
        expect(Object.fromEntries(["port", "permitrootlogin", "passwordauthentication", "kbdinteractiveauthentication", "pubkeyauthentication", "authenticationmethods", "allowusers", "maxauthtries", "logingracetime", "allowagentforwarding", "allowtcpforwarding", "x11forwarding", "permittunnel", "permitemptypasswords"].map((k) => [k, cfg.get(k)]))).toEqual({
            port: "2222",
            permitrootlogin: "no",
            passwordauthentication: "no",
            kbdinteractiveauthentication: "no",
            pubkeyauthentication: "yes",
            authenticationmethods: "publickey",
            allowusers: "deploy",
            maxauthtries: "3",
            logingracetime: "30",
            allowagentforwarding: "no",
            allowtcpforwarding: "no",
            x11forwarding: "no",
            permittunnel: "no",
            permitemptypasswords: "no",
        });
        expect(cfg.get("ciphers")!.split(",").every((c) => /gcm|chacha20-poly1305/.test(c))).toBe(true);
    });

    test("sshd -t rejects a broken value, so the check above can fail", () => {
        const broken = renderSshdConfig({ adminUser: "deploy" }).replace("PermitRootLogin no", "PermitRootLogin maybe");
        expect(run("/usr/sbin/sshd", ["-t", "-f", debianSshdConfig(broken)]).status).not.toBe(0);
    });
});

describe("cloud-init user data", () => {
    const keys = [sshKeygen("ed25519"), sshKeygen("ed25519")];
    const userData = renderUserData({ hostname: "webapp-prod-0", adminUser: "deploy", adminSshPublicKeys: keys, sshPort: 22 });

    function schema(text: string) {
        const file = path.join(dir, `user-data-${Math.random().toString(36).slice(2)}.yaml`);
        fs.writeFileSync(file, text);
        return run("cloud-init", ["schema", "--config-file", file]);
    }

    test("passes cloud-init schema", () => {
        const res = schema(userData);
        expect({ status: res.status, stderr: res.stderr.trim() }).toEqual({ status: 0, stderr: "" });
        expect(res.stdout).toMatch(/^Valid cloud-config: /);
    });

    test("creates only the admin user, key-only, with sudo, and writes the sshd drop-in first", () => {
        expect(userData.startsWith("#cloud-config\n")).toBe(true);
        const doc = parse(userData);
        expect(doc.users).toEqual([
            expect.objectContaining({ name: "deploy", lock_passwd: true, groups: ["sudo"], sudo: "ALL=(ALL) NOPASSWD:ALL", ssh_authorized_keys: keys }),
        ]);
        expect(doc.disable_root).toBe(true);
        expect(doc.ssh_pwauth).toBe(false);
        expect(doc.write_files).toEqual([{ path: SSHD_DROPIN_PATH, owner: "root:root", permissions: "0644", content: renderSshdConfig({ adminUser: "deploy", port: 22 }) }]);
        expect(doc.runcmd).toEqual([["sh", "-c", "sshd -t && systemctl reload ssh"]]);
    });

    test("cloud-init schema rejects a wrong type, so the check above can fail", () => {
        expect(schema(userData.replace("lock_passwd: true", 'lock_passwd: "yes"')).status).toBe(1);
    });
});
