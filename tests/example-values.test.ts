/**
 * "Not yet configured": the committed stack files are examples; their example values are found, each with the key
 * and the command that replaces it, and a stack with its own values has none. The offline plan lists them and
 * still passes; a real preview refuses them (tests/engine.test.ts).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { validateConfig } from "../lib/config-schema";
import { EXAMPLE_KEY_FINGERPRINTS, exampleValues, keyFingerprint } from "../lib/example-values";
import { rawConfig, run, sshKeygen } from "./helpers";

const ROOT = path.join(__dirname, "..");
const OWN_KEY = sshKeygen("ed25519");
/** The staging example with the user's own values in every key the check reads. */
const own = () => ({ ...rawConfig("staging"), adminCidrs: ["10.20.30.0/24", "2a01:4f8:c0c:1234::/64"], adminSshPublicKeys: [OWN_KEY], domain: "staging.shop.de", acmeEmail: "ops@shop.de" });
const found = (raw: Record<string, unknown>, stack = "staging") => exampleValues(validateConfig(raw, stack), stack);

describe("the committed example stacks", () => {
    test.each(["staging", "prod"])("%s: every example value is named with its fix", (stack) => {
        const keys = found(rawConfig(stack), stack).map((p) => p.key);
        expect(keys).toEqual(stack === "prod" ? ["adminCidrs", "domain", "domainAliases", "acmeEmail", "adminSshPublicKeys"] : ["adminCidrs", "domain", "acmeEmail", "adminSshPublicKeys"]);
    });

    test("every admin key of the stack files is a known example key, as ssh-keygen fingerprints it", () => {
        const keys = ["staging", "prod"].flatMap((s) => rawConfig(s).adminSshPublicKeys as string[]);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keys-"));
        for (const [i, key] of keys.entries()) {
            fs.writeFileSync(path.join(dir, `${i}.pub`), `${key}\n`);
            const printed = run("ssh-keygen", ["-l", "-f", path.join(dir, `${i}.pub`)]).stdout.split(" ")[1];
            expect(keyFingerprint(key)).toBe(printed);
            expect(EXAMPLE_KEY_FINGERPRINTS).toContain(printed);
        }
        expect(keys).toHaveLength(EXAMPLE_KEY_FINGERPRINTS.length);
    });
});

describe("one example value at a time", () => {
    test("a stack with its own values has none", () => {
        expect(found(own())).toEqual([]);
    });

    test.each([
        ["an IPv4 documentation network", { adminCidrs: ["10.20.30.0/24", "192.0.2.7/32"] }, "adminCidrs", /192\.0\.2\.7\/32 \(documentation range 192\.0\.2\.0\/24/],
        ["a network inside 203.0.113.0/24", { adminCidrs: ["203.0.113.128/25"] }, "adminCidrs", /documentation range 203\.0\.113\.0\/24/],
        ["an IPv6 documentation network", { adminCidrs: ["2001:db8:100::/48"] }, "adminCidrs", /documentation range 2001:db8::\/32/],
        ["an existing host in 198.51.100.0/24", { provider: "existing", existingHosts: ["198.51.100.20"] }, "existingHosts", /198\.51\.100\.20 \(documentation range/],
        ["an existing host under example.net", { provider: "existing", existingHosts: ["web1.example.net"] }, "existingHosts", /under example\.net/],
        ["the domain under example.org", { domain: "shop.example.org" }, "domain", /shop\.example\.org is under example\.org/],
        ["example.com itself", { domain: "example.com" }, "domain", /example\.com is under example\.com/],
        ["an alias under example.com", { domainAliases: ["www.shop.de", "www.example.com"] }, "domainAliases", /^example entry: www\.example\.com/],
        ["an ACME address at example.net", { acmeEmail: "certs@example.net" }, "acmeEmail", /certs@example\.net is at example\.net/],
        ["a key labelled with an example address", { adminSshPublicKeys: [OWN_KEY.replace(/\S+$/, "admin@example.com")] }, "adminSshPublicKeys", /labelled admin@example\.com/],
        ["an example key under another label", { adminSshPublicKeys: [OWN_KEY, (rawConfig("prod").adminSshPublicKeys as string[])[1].replace(/\S+$/, "me@shop.de")] }, "adminSshPublicKeys", /the committed example key SHA256:wNv42dC/],
    ])("%s", (_name, change, key, message) => {
        const problems = found({ ...own(), ...change });
        expect(problems.map((p) => p.key)).toEqual([key]);
        expect(problems[0].message).toMatch(message);
        // A list is replaced as a whole, so no example entry survives next to the user's own.
        expect(problems[0].fix).toMatch(Array.isArray((change as Record<string, unknown>)[key]) ? new RegExp(`^pulumi config rm webapp:${key} --stack staging && pulumi config set --path 'webapp:${key}\\[0\\]'`) : new RegExp(`^pulumi config set webapp:${key} `));
    });

    test("look-alikes are not examples", () => {
        expect(found({ ...own(), domain: "notexample.com", acmeEmail: "ops@example.company", adminCidrs: ["192.0.3.0/24", "2001:db9::/32"] })).toEqual([]);
    });
});

test("npm run plan shows the committed examples cleanly: PASSED, with the list of what to configure", () => {
    const res = run(process.execPath, [path.join(ROOT, "node_modules", ".bin", "ts-node"), "--swc", "plan/cli.ts", "--stack", "staging"], { cwd: ROOT });
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/-> PASSED\n(  .*\n)*Not yet configured: example values that a real `pulumi preview` or `pulumi up` refuses:\n {2}webapp:adminCidrs: /);
    expect(res.stdout).toContain("fix: pulumi config set webapp:domain <your app's host name> --stack staging");
});
