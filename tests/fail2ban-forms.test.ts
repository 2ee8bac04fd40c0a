/**
 * SSH-4 and LOG-2 read fail2ban's jail files the way fail2ban does. These tests hold that reading against
 * fail2ban-client itself: for each set of files (Debian's stock configuration, the rendered jail and one form of
 * change), `fail2ban-client -d` dumps the jail it would start, and the policy's reading must agree on whether the
 * jail runs and on its maxretry, findtime and bantime.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderSshdJail } from "../lib/render/fail2ban";
import { DEBIAN_FAIL2BAN, fail2banJails, fail2banSeconds, fail2banTrue } from "../policies/parse";
import { hostFileFixtures } from "./support/policy";

let dir: string;
beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "f2b-forms-"))));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test("Debian's stock jail files hold the values the policy assumes for them", () => {
    const stock = Object.fromEntries(Object.keys(DEBIAN_FAIL2BAN).map((p) => [p, fs.readFileSync(p, "utf8")]));
    const real = fail2banJails(hostFileFixtures(stock)).get("sshd")!;
    const assumed = fail2banJails(hostFileFixtures({})).get("sshd")!;
    for (const key of ["enabled", "maxretry", "findtime", "bantime", "port", "banaction"]) expect([key, real.get(key)?.value]).toEqual([key, assumed.get(key)?.value]);
});

const jail = renderSshdJail({ appName: "webapp", appLogFiles: [], sshPort: 22 });
const cases: [string, Record<string, string>][] = [
    ["the rendered jail", { "jail.d/sshd.local": jail }],
    ["a later .local disables it", { "jail.d/sshd.local": jail, "jail.d/zz-local.local": "[sshd]\nenabled = false\n" }],
    ["a .conf cannot undo a .local", { "jail.d/sshd.local": jail, "jail.d/zz-local.conf": "[sshd]\nenabled = false\nbantime = 60\n" }],
    ["jail.local's [DEFAULT] under a jail without bantime", { "jail.d/sshd.local": jail.replace("bantime = 3600\n", ""), "jail.local": "[DEFAULT]\nbantime = 10m\n" }],
    ["a later [DEFAULT] under a jail's own values", { "jail.d/sshd.local": jail, "jail.d/zz-local.local": "[DEFAULT]\nbantime = 60\nmaxretry = 50\n" }],
    ["stock bantime", { "jail.d/sshd.local": jail.replace("bantime = 3600\n", "") }],
    ["enabled = no", { "jail.d/sshd.local": jail.replace("enabled = true", "enabled = no") }],
    ["times with units", { "jail.d/sshd.local": jail.replace("bantime = 3600", "bantime = 1d").replace("findtime = 600", "findtime = 1h 30m") }],
];

test.each(cases)("%s: the policy reads the jail fail2ban-client starts", (_name, extra) => {
    const conf = fs.mkdtempSync(path.join(dir, "conf-"));
    expect(spawnSync("cp", ["-a", "/etc/fail2ban/.", conf]).status).toBe(0);
    for (const [p, content] of Object.entries(extra)) fs.writeFileSync(path.join(conf, p), content);
    const dump = spawnSync("fail2ban-client", ["-c", conf, "-d"], { encoding: "utf8" });
    expect(dump.status).toBe(0);
    const value = (key: string) => new RegExp(`\\['set', 'sshd', '${key}', '?([^'\\]]+)'?\\]`).exec(dump.stdout)?.[1];
    const runs = /\['add', 'sshd',/.test(dump.stdout);
    const real = { maxretry: Number(value("maxretry")), findtime: fail2banSeconds(value("findtime")), bantime: fail2banSeconds(value("bantime")) };

    const judged = fail2banJails(hostFileFixtures(Object.fromEntries(Object.entries(extra).map(([p, c]) => [`/etc/fail2ban/${p}`, c])))).get("sshd")!;
    const enabled = fail2banTrue(judged.get("enabled")?.value);
    expect(enabled).toBe(runs);
    if (!enabled) return;
    expect({ maxretry: Number(judged.get("maxretry")?.value), findtime: fail2banSeconds(judged.get("findtime")?.value), bantime: fail2banSeconds(judged.get("bantime")?.value) }).toEqual(real);
});
