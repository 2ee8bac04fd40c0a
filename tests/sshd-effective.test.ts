/**
 * The policies' model of sshd's effective configuration (policies/parse.ts effectiveSshd) against the real sshd:
 * for each set of files, `sshd -T` with a connection outside every Match block and one inside must report what
 * the model says, for the keywords SSH-1..3 judge.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEBIAN_SSHD_CONFIG, effectiveSshd, HostFile, SshdSetting } from "../policies/parse";
import { run } from "./helpers";

const KEYS = ["permitrootlogin", "passwordauthentication", "kbdinteractiveauthentication", "maxauthtries", "x11forwarding", "allowtcpforwarding", "maxsessions"];
const DEFAULTS: Record<string, string> = { permitrootlogin: "without-password", passwordauthentication: "yes", kbdinteractiveauthentication: "yes", maxauthtries: "6", x11forwarding: "no", allowtcpforwarding: "yes", maxsessions: "10" };
/** sshd -T prints some values in its own spelling. */
const spelled = (key: string, value: string) => (key === "permitrootlogin" && value === "prohibit-password" ? "without-password" : value.toLowerCase());

const HARDENING = "PermitRootLogin no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nMaxAuthTries 3\nAllowTcpForwarding no\nX11Forwarding no\n";
const cases: { name: string; dropIns: Record<string, string>; main?: string }[] = [
    { name: "the hardening drop-in under Debian's sshd_config", dropIns: { "10-hardening.conf": HARDENING } },
    { name: "an earlier drop-in wins", dropIns: { "05-cloud.conf": "PasswordAuthentication yes\nMaxAuthTries 10\n", "10-hardening.conf": HARDENING } },
    { name: "a later drop-in loses", dropIns: { "10-hardening.conf": HARDENING, "50-cloud-init.conf": "PasswordAuthentication yes\n" } },
    { name: "the deprecated alias read first", dropIns: { "01-legacy.conf": "ChallengeResponseAuthentication yes\n", "10-hardening.conf": HARDENING } },
    { name: "a Match block inside a drop-in, ended by the end of that file", dropIns: { "10-hardening.conf": `${HARDENING}Match Address 192.0.2.0/24\n    PasswordAuthentication yes\n    MaxSessions 2\n` }, main: "Include /etc/ssh/sshd_config.d/*.conf\nMaxSessions 5\n" },
    { name: "keywords left to sshd's defaults", dropIns: { "10-hardening.conf": "MaxAuthTries 3\n" } },
];

function sshdT(main: string, dropIns: Record<string, string>, addr: string): Map<string, string> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sshd-"));
    fs.mkdirSync(path.join(dir, "sshd_config.d"));
    for (const [name, content] of Object.entries(dropIns)) fs.writeFileSync(path.join(dir, "sshd_config.d", name), content);
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "hostkey")]);
    fs.writeFileSync(path.join(dir, "sshd_config"), `${main.replace(/\/etc\/ssh\//g, `${dir}/`)}\nHostKey ${dir}/hostkey\n`);
    fs.mkdirSync("/run/sshd", { recursive: true });
    const res = run("/usr/sbin/sshd", ["-T", "-f", path.join(dir, "sshd_config"), "-C", `user=deploy,host=client,addr=${addr},laddr=203.0.113.1,lport=22`]);
    if (res.status !== 0) throw new Error(`sshd -T failed: ${res.stderr}`);
    return new Map(res.stdout.split("\n").filter(Boolean).map((l) => [l.split(" ")[0], l.slice(l.indexOf(" ") + 1)] as [string, string]));
}

test.each(cases)("$name: the model says what sshd -T says", ({ dropIns, main }) => {
    const files: HostFile[] = Object.entries(dropIns).map(([name, content]) => ({ path: `/etc/ssh/sshd_config.d/${name}`, content }) as HostFile);
    if (main) files.push({ path: "/etc/ssh/sshd_config", content: main } as HostFile);
    const model = effectiveSshd(files);
    const say = (settings: Map<string, SshdSetting>[], key: string) => spelled(key, settings.map((s) => s.get(key)?.value).find((v) => v !== undefined) ?? DEFAULTS[key]);
    const outside = sshdT(main ?? DEBIAN_SSHD_CONFIG, dropIns, "198.51.100.9");
    const inside = sshdT(main ?? DEBIAN_SSHD_CONFIG, dropIns, "192.0.2.9");
    const matching = model.matches.filter((m) => m.criteria === "Address 192.0.2.0/24").map((m) => m.settings);
    for (const key of KEYS) {
        expect({ key, outside: outside.get(key) }).toEqual({ key, outside: say([model.global], key) });
        // In a Match block, its own value comes first (sshd applies the first match's settings over the globals).
        expect({ key, inside: inside.get(key) }).toEqual({ key, inside: say([...matching, model.global], key) });
    }
});
