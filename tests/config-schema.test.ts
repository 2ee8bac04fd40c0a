import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { CONFIG_KEYS, ConfigError, ConfigKeySpec, RawConfig, validateConfig } from "../lib/config-schema";
import { rawConfig, sshKeygen } from "./helpers";

/** A real RSA 2048 public key made by ssh-keygen. */
const RSA_2048 = sshKeygen("rsa", 2048);

function problemsOf(raw: RawConfig, stack = "prod"): ConfigError["problems"] {
    try {
        validateConfig(raw, stack);
    } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).problems;
    }
    throw new Error("validateConfig accepted the config");
}

describe("the shipped stacks", () => {
    test.each(["staging", "prod"])("%s validates, with defaults applied", (stack) => {
        const config = validateConfig(rawConfig(stack), stack);
        expect(config.environment).toBe(stack);
        expect(config.sshPort).toBe(22);
        expect(config.provider).toBe("hcloud");
    });

    test("staging and prod differ where environments should", () => {
        const staging = validateConfig(rawConfig("staging"), "staging");
        const prod = validateConfig(rawConfig("prod"), "prod");
        expect(staging.hcloudServerType).not.toBe(prod.hcloudServerType);
        expect(staging.adminCidrs).not.toEqual(prod.adminCidrs);
        expect(staging.domain).not.toBe(prod.domain);
        expect([staging.protect, prod.protect]).toEqual([false, true]);
        expect([staging.offsiteBackup, prod.offsiteBackup]).toEqual([false, true]);
        expect(prod.secretStore).toBe("aws-secrets-manager");
        expect(prod.backupRetentionDailyDays).toBeGreaterThan(staging.backupRetentionDailyDays);
    });

    test("no stack file holds a plaintext value for a secret key", () => {
        for (const stack of ["staging", "prod"]) {
            const doc = parse(fs.readFileSync(path.join(__dirname, "..", `Pulumi.${stack}.yaml`), "utf8"));
            for (const [key, value] of Object.entries(doc.config as Record<string, unknown>)) {
                const short = key.split(":")[1];
                const spec = (CONFIG_KEYS as Record<string, ConfigKeySpec>)[short];
                if (spec?.secret || /(token|password|privatekey|secretkey|accesskey)$/i.test(key)) {
                    expect({ key, value }).toEqual({ key, value: expect.objectContaining({ secure: expect.any(String) }) });
                }
            }
        }
    });
});

describe("Pulumi.yaml declares the schema", () => {
    const project = parse(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8"));
    const declared = project.config as Record<string, { type: string; default?: unknown; description: string; items?: { type: string } }>;

    test("every key with its type, description and default, and nothing else", () => {
        const expected = Object.entries(CONFIG_KEYS as Record<string, ConfigKeySpec>).filter(([, s]) => !s.optional);
        expect(Object.keys(declared).sort()).toEqual(expected.map(([k]) => k).sort());
        for (const [key, spec] of expected) {
            expect({ key, type: declared[key].type }).toEqual({ key, type: spec.type });
            expect({ key, default: declared[key].default }).toEqual({ key, default: spec.default });
            expect(declared[key].description).toBe(spec.description);
            if (spec.type === "array") expect(declared[key].items).toEqual({ type: "string" });
        }
    });

    test("optional keys that the CLI would otherwise require are documented there", () => {
        const text = fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8");
        for (const [key, spec] of Object.entries(CONFIG_KEYS as Record<string, ConfigKeySpec>)) {
            if (spec.optional) expect(text).toContain(`webapp:${key}`);
        }
    });

    test("runtime is nodejs with TypeScript", () => {
        expect(project.runtime).toEqual({ name: "nodejs", options: { typescript: true, packagemanager: "npm" } });
        expect(project.name).toBe("webapp");
    });
});

type Case = [string, string, (raw: RawConfig) => void, string, RegExp];

const existingFleet = (c: RawConfig) => {
    c.provider = "existing";
    c.serverCount = 2;
    c.existingHosts = ["203.0.113.20", "203.0.113.21"];
    c.databaseHost = "dedicated";
    c.uploadsMode = "none";
    c.existingPrivateAddresses = ["10.0.0.10", "10.0.0.11"];
    c.existingDatabaseHost = "203.0.113.30";
    c.existingDatabasePrivateAddress = "10.0.0.3";
    c.existingLoadBalancerAddress = "10.0.0.2";
};

const cases: Case[] = [
    ["malformed CIDR", "prod", (c) => (c.adminCidrs = ["198.51.100.300/32"]), "adminCidrs[0]", /"198.51.100.300\/32" is not a valid IPv4 CIDR/],
    ["CIDR without prefix", "prod", (c) => (c.adminCidrs = ["198.51.100.14"]), "adminCidrs[0]", /has no prefix length/],
    ["CIDR with host bits", "prod", (c) => (c.adminCidrs = ["198.51.100.14/24"]), "adminCidrs[0]", /host bits set; the network is 198\.51\.100\.0\/24/],
    ["legacy IPv4 form", "prod", (c) => (c.adminCidrs = ["10.1/16"]), "adminCidrs[0]", /not a valid IPv4 CIDR/],
    ["malformed IPv6 CIDR", "prod", (c) => (c.adminCidrs = ["2001:db8:::1/64"]), "adminCidrs[0]", /not a valid IPv6 CIDR/],
    ["0.0.0.0/0 in prod", "prod", (c) => (c.adminCidrs = ["198.51.100.14/32", "0.0.0.0/0"]), "adminCidrs[1]", /"0\.0\.0\.0\/0" opens SSH to the whole internet.*NET-1/],
    ["::/0 in prod", "prod", (c) => (c.adminCidrs = ["::/0"]), "adminCidrs[0]", /"::\/0" opens SSH to the whole internet/],
    ["no admin CIDR", "prod", (c) => (c.adminCidrs = []), "adminCidrs[0]", /lists no network/],
    ["uppercase domain", "prod", (c) => (c.domain = "App.Example.com"), "domain", /"App.Example.com" must be lowercase/],
    ["single-label domain", "prod", (c) => (c.domain = "localhost"), "domain", /not a fully qualified domain name/],
    ["wildcard domain", "prod", (c) => (c.domain = "*.example.com"), "domain", /wildcard/],
    ["IP as domain", "prod", (c) => (c.domain = "192.0.2.10"), "domain", /is an IP address/],
    ["bad label", "prod", (c) => (c.domain = "app-.example.com"), "domain", /invalid label "app-"/],
    ["bad alias", "prod", (c) => (c.domainAliases = ["www.app.example.com", "bad_name.example.com"]), "domainAliases[1]", /invalid label "bad_name"/],
    ["alias repeats the domain", "prod", (c) => (c.domainAliases = ["app.example.com"]), "domainAliases[0]", /listed twice/],
    ["port out of range", "prod", (c) => (c.appPort = 70000), "appPort", /70000 is not a TCP port/],
    ["app port on HTTPS", "prod", (c) => (c.appPort = 443), "appPort", /443 collides with HTTPS/],
    ["app port on HTTP", "prod", (c) => (c.appPort = 80), "appPort", /80 collides with HTTP/],
    ["app port on PostgreSQL", "prod", (c) => (c.appPort = 5432), "appPort", /5432 collides with PostgreSQL/],
    ["app port on SSH", "prod", (c) => (c.appPort = 22), "appPort", /22 collides with SSH/],
    ["app port on the custom SSH port", "prod", (c) => ((c.sshPort = 2222), (c.appPort = 2222)), "appPort", /2222 collides with sshPort/],
    ["privileged app port", "prod", (c) => (c.appPort = 81), "appPort", /81 is a privileged port/],
    ["SSH on 443", "prod", (c) => (c.sshPort = 443), "sshPort", /443 is the HTTPS port/],
    ["SSH on a privileged port", "prod", (c) => (c.sshPort = 222), "sshPort", /222 is a privileged port other than 22/],
    ["non-integer port", "prod", (c) => (c.sshPort = 22.5), "sshPort", /22.5 is not a TCP port/],
    ["unknown server type", "prod", (c) => (c.hcloudServerType = "cx99"), "hcloudServerType", /"cx99" is not one of: cx22/],
    ["unknown location", "prod", (c) => (c.hcloudLocation = "ber1"), "hcloudLocation", /"ber1" is not one of: fsn1/],
    ["unknown region", "prod", (c) => (c.awsRegion = "eu-middle-1"), "awsRegion", /"eu-middle-1" is not one of/],
    ["unknown instance type", "prod", (c) => (c.awsInstanceType = "t2.nano"), "awsInstanceType", /"t2.nano" is not one of/],
    ["unknown provider", "prod", (c) => (c.provider = "ovh"), "provider", /"ovh" is not one of: hcloud, aws/],
    ["unknown environment", "prod", (c) => (c.environment = "production"), "environment", /"production" is not one of: staging, prod/],
    ["unknown database engine", "prod", (c) => (c.databaseEngine = "mysql"), "databaseEngine", /"mysql" is not one of/],
    ["unknown secret store", "prod", (c) => (c.secretStore = "vault"), "secretStore", /"vault" is not one of/],
    ["retention of 0 days", "prod", (c) => (c.backupRetentionDailyDays = 0), "backupRetentionDailyDays", /0 is not a retention in days \(a whole number from 1 to 3650\)/],
    ["retention over ten years", "prod", (c) => (c.backupRetentionWeeklyDays = 4000), "backupRetentionWeeklyDays", /4000 is not a retention/],
    ["fractional retention", "prod", (c) => (c.uploadsRetentionDays = 7.5), "uploadsRetentionDays", /7.5 is not a retention/],
    ["rotation of 0 days", "prod", (c) => (c.secretRotationDays = 0), "secretRotationDays", /0 is not a rotation period in days/],
    ["rotation over a year", "prod", (c) => (c.secretRotationDays = 400), "secretRotationDays", /400 is not a rotation period/],
    ["volume too small", "prod", (c) => (c.volumeSizeGb = 5), "volumeSizeGb", /5 is not a volume size/],
    ["too many servers", "prod", (c) => (c.serverCount = 11), "serverCount", /11 is not a server count/],
    ["bad ACME e-mail", "prod", (c) => (c.acmeEmail = "ops@"), "acmeEmail", /"ops@" is not an e-mail address/],
    ["bad admin user", "prod", (c) => (c.adminUser = "Admin"), "adminUser", /"Admin" is not a valid user name/],
    ["root as admin user", "prod", (c) => (c.adminUser = "root"), "adminUser", /"root" is a system account name/],
    ["app user equals admin user", "prod", (c) => (c.appName = "deploy"), "appName", /also the admin user.*HOST-3/],
    ["SSH key of an unknown type", "prod", (c) => (c.adminSshPublicKeys = ["ssh-dss AAAAB3NzaC1kc3M= old"]), "adminSshPublicKeys[0]", /key type "ssh-dss"/],
    ["truncated SSH key", "prod", (c) => (c.adminSshPublicKeys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP0sL4ARP5XKq8 x"]), "adminSshPublicKeys[0]", /wrong length|does not encode/],
    ["RSA 2048 key", "prod", (c) => (c.adminSshPublicKeys = [RSA_2048]), "adminSshPublicKeys[0]", /RSA key of 2048 bits; at least 3072/],
    ["no SSH key", "prod", (c) => (c.adminSshPublicKeys = []), "adminSshPublicKeys[0]", /lists no key/],
    ["rds on hcloud", "prod", (c) => (c.databaseEngine = "rds"), "databaseEngine", /"rds" needs provider "aws"/],
    ["several hcloud servers sharing one's database", "prod", (c) => ((c.serverCount = 2), (c.tlsMode = "self-signed")), "databaseHost", /2 app servers cannot share a database that lives on one of them/],
    ["several aws servers on a local database", "prod", (c) => ((c.provider = "aws"), (c.serverCount = 3), (c.uploadsMode = "none")), "serverCount", /3 servers cannot share a self-hosted database/],
    ["an AWS fleet keeping uploads on one server's disk", "prod", (c) => ((c.provider = "aws"), (c.databaseEngine = "rds"), (c.serverCount = 2), (c.uploadsMode = "internal")), "uploadsMode", /"internal" keeps uploads on one app server's disk, where the other 1 servers behind the load balancer cannot serve them/],
    ["an AWS fleet in a network too small for its subnets", "prod", (c) => ((c.provider = "aws"), (c.databaseEngine = "rds"), (c.serverCount = 2), (c.uploadsMode = "none"), (c.privateNetworkCidr = "10.0.0.0/23")), "privateNetworkCidr", /smaller than a \/22, too small for the AWS fleet's three \/24 subnets/],
    ["existing hosts sharing one's database", "prod", (c) => (existingFleet(c), (c.databaseHost = "app-server")), "databaseHost", /2 existing app hosts cannot share a database/],
    ["an existing fleet without private addresses", "prod", (c) => (existingFleet(c), (c.existingPrivateAddresses = [])), "existingPrivateAddresses", /lists 0 addresses for 2 existing hosts/],
    ["an existing host's private address outside the network", "prod", (c) => (existingFleet(c), (c.existingPrivateAddresses = ["10.0.0.10", "192.168.1.5"])), "existingPrivateAddresses[1]", /"192\.168\.1\.5" is outside privateNetworkCidr 10\.0\.0\.0\/16/],
    ["an existing fleet without its load balancer's address", "prod", (c) => (existingFleet(c), (c.existingLoadBalancerAddress = "")), "existingLoadBalancerAddress", /"" is not an IPv4 address \(the address your load balancer connects from\)/],
    ["an existing dedicated database without its host", "prod", (c) => (existingFleet(c), (c.existingDatabaseHost = "")), "existingDatabaseHost", /is empty; a dedicated database on existing hosts needs the database server's address/],
    ["an existing database's private address that is a name", "prod", (c) => (existingFleet(c), (c.existingDatabasePrivateAddress = "db.internal")), "existingDatabasePrivateAddress", /"db\.internal" is not an IPv4 address \(where PostgreSQL listens\)/],
    ["two machines on one private address", "prod", (c) => (existingFleet(c), (c.existingLoadBalancerAddress = "10.0.0.11")), "existingPrivateAddresses", /10\.0\.0\.11 is given to more than one machine/],
    ["a dedicated database on aws", "prod", (c) => ((c.provider = "aws"), (c.databaseHost = "dedicated"), (c.uploadsMode = "none")), "databaseHost", /"dedicated" runs the self-hosted PostgreSQL on a server of its own, on hcloud or an existing host/],
    ["a dedicated database with local uploads", "prod", (c) => ((c.databaseHost = "dedicated"), (c.uploadsMode = "internal")), "uploadsMode", /"internal" keeps uploads on an app server's disk/],
    ["unknown database host", "prod", (c) => (c.databaseHost = "remote"), "databaseHost", /"remote" is not one of: app-server, dedicated/],
    ["public private network", "prod", (c) => (c.privateNetworkCidr = "203.0.113.0/24"), "privateNetworkCidr", /not inside a private range/],
    ["private network smaller than a /24", "prod", (c) => (c.privateNetworkCidr = "10.0.0.0/26"), "privateNetworkCidr", /smaller than a \/24/],
    ["private network with host bits", "prod", (c) => (c.privateNetworkCidr = "10.0.0.1/16"), "privateNetworkCidr", /has host bits set; the network is 10.0.0.0\/16/],
    ["unknown load balancer type", "prod", (c) => (c.hcloudLoadBalancerType = "lb99"), "hcloudLoadBalancerType", /"lb99" is not one of: lb11, lb21, lb31/],
    ["unknown key", "prod", (c) => (c.adminCidr = "198.51.100.14/32"), "adminCidr", /is not a known key/],
    ["missing domain", "prod", (c) => delete c.domain, "domain", /is required/],
    ["missing environment", "staging", (c) => delete c.environment, "environment", /is required/],
    ["relative app command", "prod", (c) => (c.appExecStart = "gunicorn app:app"), "appExecStart", /must start with the absolute path of the program/],
    ["app command with a newline", "prod", (c) => (c.appExecStart = "/bin/app\n/bin/other"), "appExecStart", /be one line/],
    ["login path without a slash", "prod", (c) => (c.loginPath = "login"), "loginPath", /"login" is not an absolute URL path/],
    ["API prefix with a quote", "prod", (c) => (c.apiPrefix = "/api'/"), "apiPrefix", /not an absolute URL path/],
    ["CSP with an unknown directive", "prod", (c) => (c.contentSecurityPolicy = "default-src 'self'; scrpt-src 'self'"), "contentSecurityPolicy", /unknown directive "scrpt-src"/],
    ["CSP without default-src", "prod", (c) => (c.contentSecurityPolicy = "script-src 'self'"), "contentSecurityPolicy", /needs a default-src directive/],
    ["body size in words", "prod", (c) => (c.clientMaxBodySize = "ten megabytes"), "clientMaxBodySize", /"ten megabytes" is not an nginx size/],
    ["backup time past midnight", "prod", (c) => (c.backupTime = "24:00"), "backupTime", /"24:00" is not a time of day as HH:MM/],
    ["backup time in words", "staging", (c) => (c.backupTime = "2am"), "backupTime", /"2am" is not a time of day as HH:MM/],
    ["unknown uploads mode", "prod", (c) => (c.uploadsMode = "public"), "uploadsMode", /"public" is not one of: none, internal, static/],
    ["unknown TLS mode", "prod", (c) => (c.tlsMode = "acme"), "tlsMode", /"acme" is not one of: letsencrypt, self-signed/],
    ["missing app command", "prod", (c) => delete c.appExecStart, "appExecStart", /is required/],
    ["existing servers without hosts", "prod", (c) => (c.provider = "existing"), "existingHosts", /lists 0 hosts for serverCount 1/],
    ["an existing host that is no address", "prod", (c) => ((c.provider = "existing"), (c.existingHosts = ["not_a_host"])), "existingHosts[0]", /"not_a_host" is neither an IP address nor a host name/],
    ["string where a number belongs", "prod", (c) => (c.appPort = "8000"), "appPort", /"8000" is invalid/],
];

describe("every bad value is rejected with the key, the value and the fix", () => {
    test.each(cases)("%s", (_name, stack, mutate, key, message) => {
        const raw = rawConfig(stack);
        mutate(raw);
        const problems = problemsOf(raw, stack);
        expect(problems.map((p) => p.key)).toEqual([key]);
        expect(problems[0].message).toMatch(message);
        expect(problems[0].fix).toMatch(/^pulumi config (set|rm)/);
        expect(problems[0].fix).toContain(`webapp:${key.replace(/\[\d+\]$/, "")}`);
    });

    test("the fix command addresses list items with --path and names the stack", () => {
        const raw = rawConfig("prod");
        raw.adminCidrs = ["198.51.100.14/32", "0.0.0.0/0"];
        const [problem] = problemsOf(raw, "prod");
        expect(problem.fix).toBe("pulumi config set --path 'webapp:adminCidrs[1]' 203.0.113.10/32 --stack prod");
    });

    test("the error message lists every problem at once", () => {
        const raw = rawConfig("prod");
        raw.appPort = 443;
        raw.domain = "localhost";
        raw.adminCidrs = ["0.0.0.0/0"];
        let message = "";
        try {
            validateConfig(raw, "prod");
        } catch (err) {
            message = (err as Error).message;
        }
        expect(message).toMatch(/^Invalid configuration for stack "prod" \(3 problems\):/);
        expect(message).toContain("webapp:appPort: 443 collides with HTTPS");
        expect(message).toContain('webapp:domain: "localhost" is not a fully qualified domain name');
        expect(message).toContain("webapp:adminCidrs[0]:");
        expect(message.match(/fix: pulumi config/g)).toHaveLength(3);
    });

    test("staging may open SSH to the world (NET-1 forbids it in prod only)", () => {
        const raw = rawConfig("staging");
        raw.adminCidrs = ["0.0.0.0/0"];
        expect(validateConfig(raw, "staging").adminCidrs).toEqual(["0.0.0.0/0"]);
    });

    test("a custom SSH port above 1024 is accepted", () => {
        const raw = rawConfig("prod");
        raw.sshPort = 2222;
        expect(validateConfig(raw, "prod").sshPort).toBe(2222);
    });
});

describe("a fleet of existing hosts", () => {
    test("with each host's private address, the database host and the load balancer's address, the config is valid", () => {
        const raw = rawConfig("prod");
        existingFleet(raw);
        const config = validateConfig(raw, "prod");
        expect([config.existingPrivateAddresses, config.existingDatabasePrivateAddress, config.existingLoadBalancerAddress]).toEqual([["10.0.0.10", "10.0.0.11"], "10.0.0.3", "10.0.0.2"]);
    });
});
