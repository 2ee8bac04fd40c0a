/**
 * The component graph of the real program (index.ts) under the mock runtime, per stack.
 */
import { PlanRun } from "../plan/run";
import { renderUserData } from "../lib/render/cloud-init";
import { ofType, parentOf, resource, runIsolated, runStack } from "./helpers";

let staging: PlanRun;
let prod: PlanRun;
beforeAll(async () => {
    staging = await runStack("staging");
    prod = await runStack("prod");
});

const tree = (run: PlanRun) =>
    run.resources
        .filter((r) => r.parent)
        .map((r) => `${parentOf(run, r)?.name} > ${r.type} ${r.name}`)
        .sort();

describe("graph shape", () => {
    test("staging: Vps, AppSecrets and the host components with their children, nothing on AWS", () => {
        expect(tree(staging)).toEqual([
            "app > random:index/randomPassword:RandomPassword app-app-secret-key",
            "app > random:index/randomPassword:RandomPassword app-db-password",
            "app > random:index/randomPassword:RandomPassword app-encryption-key-a",
            "app > random:index/randomPassword:RandomPassword app-encryption-key-b",
            "backups > command:remote:Command backups-timers",
            "database > command:remote:Command database-postgresql",
            "database > command:remote:Command database-role",
            ...["audit", "baseline", "fail2ban", "firewall", "monitoring", "packages", "ssh", "sysctl", "upgrades", "users"].map((s) => `host-0 > command:remote:Command host-0-${s}`),
            "proxy-0 > command:remote:Command proxy-0-nginx",
            "service-0 > command:remote:Command service-0-credentials",
            "service-0 > command:remote:Command service-0-service",
            "web > hcloud:index/firewall:Firewall web-firewall",
            "web > hcloud:index/primaryIp:PrimaryIp web-ipv4-0",
            "web > hcloud:index/server:Server web-server-0",
            "web > hcloud:index/sshKey:SshKey web-ssh-key",
            "webapp-staging > webapp:compute:Vps web",
            "webapp-staging > webapp:security:AppSecrets app",
            "webapp-staging > webapp:host:HostHardening host-0",
            "webapp-staging > webapp:app:AppService service-0",
            "webapp-staging > webapp:proxy:ReverseProxy proxy-0",
            "webapp-staging > webapp:database:Database database",
            "webapp-staging > webapp:backup:Backups backups",
        ].sort());
    });

    test("prod adds the data volume, Secrets Manager and the app identity", () => {
        expect(tree(prod)).toEqual(expect.arrayContaining([
            "web > hcloud:index/volume:Volume web-volume-0",
            "web > hcloud:index/volumeAttachment:VolumeAttachment web-volume-attachment-0",
            "app > aws:secretsmanager/secret:Secret app-db-password-secret",
            "app > aws:secretsmanager/secretVersion:SecretVersion app-encryption-key-version",
            "app > aws:iam/policy:Policy app-read-policy",
            "app > aws:iam/userPolicyAttachment:UserPolicyAttachment app-read-policy-attachment",
            "app > aws:iam/user:User app-user",
            "app > aws:iam/accessKey:AccessKey app-access-key",
            "webapp-prod > webapp:security:AppIdentity app",
        ]));
        expect(ofType(prod, "pulumi:providers:aws").map((p) => p.inputs.region)).toEqual(["eu-central-1"]);
    });

    test.each(["staging", "prod"])("%s: component tokens and child names follow the conventions", (stack) => {
        const run = stack === "prod" ? prod : staging;
        for (const r of run.resources.filter((x) => !x.custom && x.parent)) {
            expect(r.type).toMatch(/^webapp:[a-z]+:[A-Z][A-Za-z]+$/);
        }
        for (const r of run.resources.filter((x) => x.parent && parentOf(run, x)?.type.startsWith("webapp:"))) {
            expect(r.name.startsWith(`${parentOf(run, r)!.name}-`)).toBe(true);
        }
    });

    test("every AWS resource uses the explicit provider with the configured region", () => {
        const provider = resource(prod, "aws", "pulumi:providers:aws");
        const awsResources = prod.resources.filter((r) => r.custom && r.type.startsWith("aws:"));
        expect(awsResources.length).toBeGreaterThan(5);
        for (const r of awsResources) expect(r.provider).toMatch(new RegExp(`^${provider.urn.replace(/[$]/g, "\\$")}::`));
    });
});

describe("servers and firewall (NET-1, NET-3)", () => {
    test.each(["staging", "prod"])("%s: the firewall allows 80 and 443 from anywhere, SSH from the admin CIDRs, nothing else", (stack) => {
        const run = stack === "prod" ? prod : staging;
        const rules = resource(run, "web-firewall").inputs.rules as Record<string, unknown>[];
        const adminCidrs = JSON.parse(run.config["webapp:adminCidrs"]);
        expect(rules).toEqual([
            { direction: "in", protocol: "tcp", port: "80", sourceIps: ["0.0.0.0/0", "::/0"], description: expect.any(String) },
            { direction: "in", protocol: "tcp", port: "443", sourceIps: ["0.0.0.0/0", "::/0"], description: expect.any(String) },
            { direction: "in", protocol: "tcp", port: "22", sourceIps: adminCidrs, description: expect.any(String) },
        ]);
    });

    test("every server is attached to the firewall and uses the fixed primary IP", () => {
        for (const run of [staging, prod]) {
            const firewall = resource(run, "web-firewall");
            const ip = resource(run, "web-ipv4-0");
            const server = resource(run, "web-server-0");
            expect(server.inputs.firewallIds).toEqual([Number(firewall.id)]);
            expect(server.inputs.publicNets).toEqual([{ ipv4Enabled: true, ipv4: Number(ip.id), ipv6Enabled: true }]);
            expect(ip.inputs).toMatchObject({ type: "ipv4", assigneeType: "server", autoDelete: false });
            expect(server.inputs.image).toBe("debian-12");
        }
    });

    test("the server boots with the user data rendered for its admin", () => {
        const server = resource(prod, "web-server-0");
        expect(server.inputs.userData).toBe(
            renderUserData({ hostname: "webapp-prod-0", adminUser: "deploy", adminSshPublicKeys: JSON.parse(prod.config["webapp:adminSshPublicKeys"]), sshPort: 22 }),
        );
    });
});

describe("protection of state (PROT-1..3)", () => {
    test("prod protects server, IP and volume, with provider-side protection and backups", () => {
        const server = resource(prod, "web-server-0");
        expect(server.protect).toBe(true);
        expect(server.inputs).toMatchObject({ deleteProtection: true, rebuildProtection: true, backups: true });
        expect(server.ignoreChanges).toEqual(["userData", "sshKeys"]);
        expect(resource(prod, "web-ipv4-0")).toMatchObject({ protect: true, inputs: expect.objectContaining({ deleteProtection: true }) });
        expect(resource(prod, "web-volume-0")).toMatchObject({ protect: true, inputs: expect.objectContaining({ deleteProtection: true, size: 50 }) });
        for (const s of ofType(prod, "aws:secretsmanager/secret:Secret")) expect(s.protect).toBe(true);
    });

    test("staging protects nothing and may be replaced", () => {
        expect(staging.resources.filter((r) => r.protect)).toEqual([]);
        const server = resource(staging, "web-server-0");
        expect(server.inputs).toMatchObject({ deleteProtection: false, rebuildProtection: false, backups: false });
        expect(server.ignoreChanges).toEqual(["sshKeys"]);
    });
});

describe("provider aws", () => {
    let aws: PlanRun;
    beforeAll(async () => {
        aws = await runStack("prod", { "webapp:provider": "aws", "webapp:awsInstanceType": "t3.medium" });
    });

    test("the same contract on EC2: IMDSv2, encrypted root volume, instance role, Elastic IP", () => {
        const instance = resource(aws, "web-server-0", "aws:ec2/instance:Instance");
        expect(instance.protect).toBe(true);
        expect(instance.inputs).toMatchObject({
            instanceType: "t3.medium",
            metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
            rootBlockDevice: { encrypted: true, volumeType: "gp3" },
            disableApiTermination: true,
            iamInstanceProfile: "webapp-prod-app",
            keyName: "webapp-prod-admin",
        });
        expect(instance.ignoreChanges).toEqual(["userData", "keyName", "ami"]);
        expect(resource(aws, "web-ipv4-0", "aws:ec2/eip:Eip")).toMatchObject({ protect: true, inputs: expect.objectContaining({ domain: "vpc" }) });
        expect(resource(aws, "web-volume-0", "aws:ebs/volume:Volume").inputs).toMatchObject({ encrypted: true, size: 50 });
        expect(resource(aws, "app-role", "aws:iam/role:Role").inputs.assumeRolePolicy).toContain("ec2.amazonaws.com");
    });

    test("the security group has the same rules as the hcloud firewall", () => {
        const sg = resource(aws, "web-security-group");
        expect((sg.inputs.ingress as Record<string, unknown>[]).map((r) => [r.fromPort, r.toPort, r.protocol, r.cidrBlocks, r.ipv6CidrBlocks])).toEqual([
            [80, 80, "tcp", ["0.0.0.0/0"], ["::/0"]],
            [443, 443, "tcp", ["0.0.0.0/0"], ["::/0"]],
            [22, 22, "tcp", ["198.51.100.14/32", "198.51.100.15/32"], []],
        ]);
        expect(sg.id).toMatch(/^sg-/);
        expect(resource(aws, "web-server-0").inputs.vpcSecurityGroupIds).toEqual([sg.id]);
    });

    test("the AMI is Debian 12 from the Debian cloud team's account, for the instance's architecture", async () => {
        expect(aws.invokes.find((i) => i.token === "aws:ec2/getAmi:getAmi")?.inputs).toMatchObject({
            owners: ["136693071363"],
            filters: expect.arrayContaining([{ name: "name", values: ["debian-12-amd64-*"] }]),
        });
        const arm = await runStack("prod", { "webapp:provider": "aws", "webapp:awsInstanceType": "t4g.medium" });
        expect(arm.invokes.find((i) => i.token === "aws:ec2/getAmi:getAmi")?.inputs.filters).toContainEqual({ name: "name", values: ["debian-12-arm64-*"] });
    });

    test("N servers of the same kind share one security group and key, and one RDS database, behind one network load balancer", async () => {
        const fleet = await runStack("prod", { "webapp:provider": "aws", "webapp:databaseEngine": "rds", "webapp:serverCount": "3", "webapp:uploadsMode": "none" });
        expect(ofType(fleet, "aws:ec2/instance:Instance").map((r) => r.name)).toEqual(["web-server-0", "web-server-1", "web-server-2"]);
        expect(ofType(fleet, "aws:ec2/eip:Eip").map((r) => r.name)).toEqual(["web-ipv4-0", "web-ipv4-1", "web-ipv4-2", "web-address-0", "web-address-1"]);
        expect(ofType(fleet, "aws:lb/loadBalancer:LoadBalancer").map((r) => r.name)).toEqual(["web-nlb"]);
        expect(ofType(fleet, "aws:ec2/securityGroup:SecurityGroup").map((r) => r.name)).toEqual(["web-security-group", "database-security-group"]);
        expect(ofType(fleet, "aws:ec2/keyPair:KeyPair")).toHaveLength(1);
        expect((fleet.outputs.servers as { name: string }[]).map((s) => s.name)).toEqual(["webapp-prod-0", "webapp-prod-1", "webapp-prod-2"]);
    });
});

describe("provider existing", () => {
    test("creates nothing in a cloud and points every remote step at the given host", async () => {
        const run = await runStack("staging", { "webapp:provider": "existing", "webapp:existingHosts": '["203.0.113.20"]' });
        expect(run.resources.filter((r) => r.type.startsWith("hcloud:") || r.type.startsWith("aws:"))).toEqual([]);
        const steps = ofType(run, "command:remote:Command");
        expect(steps.length).toBeGreaterThan(10);
        for (const s of steps) {
            const c = s.inputs.connection as { value?: { host: string; user: string } } & { host?: string };
            expect((c.value ?? c).host).toBe("203.0.113.20");
        }
        expect(run.outputs.servers).toEqual([{ name: "webapp-staging-0", ipv4: "203.0.113.20" }]);
    });
});

describe("bad config stops the program before any resource", () => {
    test.each([
        ["webapp:adminCidrs", '["0.0.0.0/0"]', /webapp:adminCidrs\[0\]: "0\.0\.0\.0\/0" opens SSH to the whole internet/],
        ["webapp:appPort", "5432", /webapp:appPort: 5432 collides with PostgreSQL/],
        ["webapp:domain", "not a domain", /webapp:domain: "not a domain"/],
        ["webapp:backupRetentionDailyDays", "-3", /webapp:backupRetentionDailyDays: -3 is not a retention/],
        ["webapp:sshPort", "eighty", /webapp:sshPort: cannot be read as integer/],
        ["webapp:acmeEmail", undefined, /webapp:acmeEmail: is required/],
    ])("%s = %s", async (key, value, message) => {
        const run = await runIsolated({ stack: "prod", overrides: { [key]: value } });
        expect(run.error?.message).toMatch(message);
        expect(run.error?.message).toMatch(/fix: pulumi config/);
        expect(run.resources.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
    });
});
