/**
 * Each value the checklist requires is written once, in lib/controls.ts: the renderers, the pack, verify and the
 * checklist's text import it (issue 28). Reads the product's source files; writes nothing.
 */
import * as fs from "fs";
import * as path from "path";
import { BACKUP_STALE_HOURS, HSTS_MAX_AGE, HSTS_MIN_MAX_AGE, SSH_LOGIN_GRACE_SECONDS, SSH_MAX_AUTH_TRIES } from "../lib/controls";
import { CHECKLIST } from "../policies/checklist";
import { renderSshdConfig } from "../lib/render/sshd";

const ROOT = path.join(__dirname, "..");
/** The product's TypeScript: the program, its components and renderers, the pack, the plan, verify and the scripts. */
function sources(): string[] {
    const out: string[] = [path.join(ROOT, "index.ts")];
    const walk = (dir: string) => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
            const p = path.join(dir, e.name);
            if (e.isDirectory() && !["node_modules", "dist"].includes(e.name)) walk(p);
            else if (e.isFile() && e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(p);
        }
    };
    for (const d of ["lib", "components", "policies", "plan", "verify", "scripts"]) walk(path.join(ROOT, d));
    return out;
}

/** The files in which a line matches: where the value is written. */
const writtenIn = (line: RegExp) =>
    sources()
        .filter((f) => fs.readFileSync(f, "utf8").split("\n").some((l) => line.test(l)))
        .map((f) => path.relative(ROOT, f))
        .sort();

describe("the values the checklist requires have one home", () => {
    test.each([
        ["SSH-3 MaxAuthTries", new RegExp(`MAX_?AUTH_?TRIES\\W{0,4}${SSH_MAX_AUTH_TRIES}\\b|maxauthtries.*\\b${SSH_MAX_AUTH_TRIES}\\b`, "i")],
        ["SSH-3 LoginGraceTime", new RegExp(`LOGIN_?GRACE\\w*\\W{0,4}${SSH_LOGIN_GRACE_SECONDS}\\b|logingracetime.*\\b${SSH_LOGIN_GRACE_SECONDS}\\b`, "i")],
        ["TLS-4 the shortest HSTS max-age", /31_?536_?000/],
        ["TLS-4 the HSTS max-age sent", /63_?072_?000/],
        ["BK-8 the stale-backup age", new RegExp(`\\b${BACKUP_STALE_HOURS}\\b.*(hour|stale|\\* 3600)|(stale|backup|_HOURS).*\\b${BACKUP_STALE_HOURS}\\b`, "i")],
    ])("%s", (_what, line) => {
        expect(writtenIn(line)).toEqual(["lib/controls.ts"]);
    });

    test("the checklist states them, and the sshd renderer writes them", () => {
        expect(CHECKLIST["SSH-3"]).toContain(`MaxAuthTries <= ${SSH_MAX_AUTH_TRIES}, LoginGraceTime <= ${SSH_LOGIN_GRACE_SECONDS}s`);
        expect(CHECKLIST["TLS-4"]).toContain(`max-age >= ${HSTS_MIN_MAX_AGE}`);
        expect(CHECKLIST["BK-8"]).toContain(`older than ${BACKUP_STALE_HOURS} hours`);
        expect(HSTS_MAX_AGE).toBeGreaterThanOrEqual(HSTS_MIN_MAX_AGE);
        const sshd = renderSshdConfig({ adminUser: "deploy" });
        expect([/^MaxAuthTries (\d+)$/m.exec(sshd)?.[1], /^LoginGraceTime (\d+)$/m.exec(sshd)?.[1]]).toEqual([String(SSH_MAX_AUTH_TRIES), String(SSH_LOGIN_GRACE_SECONDS)]);
    });
});
