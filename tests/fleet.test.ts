/**
 * The fleet (issue 15) under the mock runtime: app servers behind Hetzner's load balancer on a private network,
 * PostgreSQL on a server of its own. Each fleet is the real program (index.ts) with the prod stack's config and a
 * few keys changed; the pack judges each plan as it judges today's single server.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { AWS_HEALTH_CHECK, AWS_ROLLING, awsFleetNetworkProblem, awsFleetPlan, fleetPlan, HCLOUD_ROLLING, HEALTH_CHECK, privateNetworkProblem } from "../lib/fleet";
import { inboundRules, privateRules } from "../lib/net";
import { HEALTH_CHECK_PORT } from "../lib/render/nginx";
import { blocking, evaluate } from "../plan/evaluate";
import { PlanRun } from "../plan/run";
import { ALL_POLICIES } from "../policies/catalog";
import { packConfig } from "../policies/pack-config";
import { ofType, resource, run as runTool, runStack, stepFiles, stepScript } from "./helpers";

const FLEET = { "webapp:databaseHost": "dedicated", "webapp:uploadsMode": "none" };
const fleet = (servers: number) => runStack("prod", { ...FLEET, "webapp:serverCount": String(servers) });
const file = (run: PlanRun, step: string, path: string) => {
    const f = stepFiles(resource(run, step)).find((x) => x.path === path);
    if (!f) throw new Error(`${step} writes no ${path}`);
    return f.content;
};

describe("fleetPlan: fixed private addresses", () => {
    test("three app servers, a load balancer and a database server in the network's first /24", () => {
        expect(fleetPlan({ networkCidr: "10.0.0.0/16", appServers: 3, dedicatedDatabase: true })).toEqual({
            networkCidr: "10.0.0.0/16",
            subnetCidr: "10.0.0.0/24",
            loadBalancerIp: "10.0.0.2",
            loadBalancerFrom: "10.0.0.2",
            appIps: ["10.0.0.10", "10.0.0.11", "10.0.0.12"],
            databaseIp: "10.0.0.3",
        });
    });

    test("one app server has no load balancer; ten take .10 to .19", () => {
        expect(fleetPlan({ networkCidr: "172.16.8.0/24", appServers: 1, dedicatedDatabase: true })).toMatchObject({ loadBalancerIp: undefined, loadBalancerFrom: undefined, appIps: ["172.16.8.10"], databaseIp: "172.16.8.3" });
        expect(fleetPlan({ networkCidr: "192.168.0.0/16", appServers: 10, dedicatedDatabase: false }).appIps.slice(-1)).toEqual(["192.168.0.19"]);
    });

    test.each([
        ["203.0.113.0/24", /not inside a private range/],
        ["10.0.0.0/25", /smaller than a \/24/],
        ["fd00::/64", /IPv6/],
        ["10.0.0.0", /no prefix length/],
        ["172.32.0.0/16", /not inside a private range/],
    ])("%s is refused", (cidr, message) => {
        expect(privateNetworkProblem(cidr)).toMatch(message);
        expect(() => fleetPlan({ networkCidr: cidr, appServers: 2, dedicatedDatabase: true })).toThrow(message);
    });

    test("11 app servers are refused", () => {
        expect(() => fleetPlan({ networkCidr: "10.0.0.0/16", appServers: 11, dedicatedDatabase: true })).toThrow(/1 to 10 app servers, not 11/);
    });
});

describe("awsFleetPlan: a VPC of its own, two zones", () => {
    test("app servers alternate between the zones' subnets; the load balancer has the third /24's first /26", () => {
        expect(awsFleetPlan({ networkCidr: "10.0.0.0/16", appServers: 3 })).toEqual({
            networkCidr: "10.0.0.0/16",
            subnetCidr: "10.0.0.0/24",
            loadBalancerFrom: "10.0.2.0/26",
            appIps: ["10.0.0.10", "10.0.1.11", "10.0.0.12"],
            zones: [
                { appSubnet: "10.0.0.0/24", loadBalancerSubnet: "10.0.2.0/27" },
                { appSubnet: "10.0.1.0/24", loadBalancerSubnet: "10.0.2.32/27" },
            ],
        });
        expect(awsFleetPlan({ networkCidr: "172.20.4.0/22", appServers: 10 }).appIps).toEqual(Array.from({ length: 10 }, (_, i) => `172.20.${4 + (i % 2)}.${10 + i}`));
        expect(awsFleetPlan({ networkCidr: "172.20.4.0/22", appServers: 1 }).loadBalancerFrom).toBeUndefined();
    });

    test("a network without room for three /24s, or larger than AWS allows, is refused", () => {
        expect(awsFleetNetworkProblem("10.0.0.0/23")).toBe('"10.0.0.0/23" is smaller than a /22, too small for the AWS fleet\'s three /24 subnets');
        expect(awsFleetNetworkProblem("10.0.0.0/8")).toBe('"10.0.0.0/8" is larger than a /16, the largest VPC AWS allows');
        expect(awsFleetNetworkProblem("100.64.0.0/16")).toMatch(/not inside a private range/);
        expect(awsFleetNetworkProblem("10.8.0.0/16")).toBeUndefined();
        expect(() => awsFleetPlan({ networkCidr: "10.0.0.0/24", appServers: 2 })).toThrow(/smaller than a \/22/);
    });
});

describe("firewall rules per role", () => {
    const admin = { sshPort: 22, adminCidrs: ["198.51.100.14/32"] };
    test("a standalone app server opens 80 and 443 to everyone and nothing on the private network", () => {
        expect(inboundRules(admin).map((r) => [r.port, r.sources])).toEqual([[80, ["0.0.0.0/0", "::/0"]], [443, ["0.0.0.0/0", "::/0"]], [22, ["198.51.100.14/32"]]]);
        expect(privateRules()).toEqual([]);
    });

    test("behind the load balancer: only SSH in public; web and health checks from the load balancer's address", () => {
        const role = { kind: "behind-load-balancer", loadBalancer: "10.0.0.2", healthPort: 8404 } as const;
        expect(inboundRules({ ...admin, role }).map((r) => r.port)).toEqual([22]);
        expect(privateRules(role).map((r) => [r.port, r.sources])).toEqual([[80, ["10.0.0.2/32"]], [443, ["10.0.0.2/32"]], [8404, ["10.0.0.2/32"]]]);
    });

    test("the database server: only SSH in public; PostgreSQL from each app server", () => {
        const role = { kind: "database", clients: ["10.0.0.10", "10.0.0.11"] } as const;
        expect(inboundRules({ ...admin, role }).map((r) => r.port)).toEqual([22]);
        expect(privateRules(role)).toEqual([{ description: "PostgreSQL from the app servers", protocol: "tcp", port: 5432, sources: ["10.0.0.10/32", "10.0.0.11/32"] }]);
    });
});

describe.each([1, 3, 10])("a prod fleet of %i app server(s) on hcloud", (servers) => {
    let run: PlanRun;
    beforeAll(async () => {
        run = await fleet(servers);
    });

    test("the program runs and the pack finds nothing blocking", () => {
        expect(run.error).toBeUndefined();
        const e = evaluate(run, ALL_POLICIES, packConfig("prod"));
        expect(blocking(e).map((f) => `${f.policy}: ${f.message}`)).toEqual([]);
    });

    test("one private network and subnet; every server joins it at its planned address", () => {
        const plan = fleetPlan({ networkCidr: "10.0.0.0/16", appServers: servers, dedicatedDatabase: true });
        expect(ofType(run, "hcloud:index/network:Network").map((r) => r.inputs.ipRange)).toEqual(["10.0.0.0/16"]);
        expect(ofType(run, "hcloud:index/networkSubnet:NetworkSubnet").map((r) => [r.inputs.ipRange, r.inputs.networkZone, r.inputs.type])).toEqual([["10.0.0.0/24", "eu-central", "cloud"]]);
        const joined = ofType(run, "hcloud:index/server:Server").map((r) => [r.inputs.name, (r.inputs.networks as { ip: string }[])[0].ip]);
        expect(joined.sort()).toEqual([...plan.appIps.map((ip, i) => [`webapp-prod-${i}`, ip]), ["webapp-prod-db-0", plan.databaseIp]].sort());
    });

    test("the database server's cloud firewall and every app server's behind a load balancer open only SSH", () => {
        const ports = (name: string) => (resource(run, name).inputs.rules as { port: string }[]).map((r) => r.port);
        expect(ports("db-firewall")).toEqual(["22"]);
        expect(ports("web-firewall")).toEqual(servers > 1 ? ["22"] : ["80", "443", "22"]);
        expect(resource(run, "db-server-0").inputs.labels).toMatchObject({ role: "database" });
    });

    test("PostgreSQL, its backups, drills and stale check run on the database server, listening on its private address", () => {
        const conf = file(run, "database-postgresql", "/etc/postgresql/15/main/conf.d/60-webapp.conf");
        expect(conf).toMatch(/^listen_addresses = 'localhost,10\.0\.0\.3'$/m);
        const hba = file(run, "database-postgresql", "/etc/postgresql/15/main/pg_hba.conf");
        const remote = hba.split("\n").filter((l) => /^host/.test(l) && !/127\.0\.0\.1|::1/.test(l));
        expect(remote).toHaveLength(servers);
        for (const line of remote) expect(line).toMatch(/^hostssl\s+webapp\s+webapp\s+10\.0\.0\.1\d\/32\s+scram-sha-256$/);
        const dbHost = (name: string) => JSON.stringify(resource(run, name).inputs.connection);
        expect(dbHost("database-postgresql")).toBe(dbHost("db-host-firewall"));
        expect(dbHost("backups-timers")).toBe(dbHost("db-host-firewall"));
        expect(dbHost("database-postgresql")).not.toBe(dbHost("host-0-firewall"));
    });

    test("ufw: the database server lets PostgreSQL in from the app servers only", () => {
        const rules = file(run, "db-host-firewall", "/etc/ufw/pulumi-rules").split("\n").filter((l) => l.startsWith("allow"));
        expect(rules.filter((l) => / port 5432$/.test(l))).toEqual(Array.from({ length: servers }, (_, i) => `allow proto tcp from 10.0.0.${10 + i}/32 to any port 5432`));
        expect(rules.filter((l) => / port (80|443)$/.test(l))).toEqual([]);
    });

    test("the app connects over the private network with TLS required", () => {
        const unit = file(run, "service-0-service", "/etc/systemd/system/webapp.service");
        expect(unit).toContain('Environment="DATABASE_HOST=10.0.0.3"');
        expect(unit).toContain('Environment="DATABASE_SSLMODE=require"');
        expect(unit).not.toMatch(/After=.*postgresql/);
    });
});

describe("the load balancer of a fleet of three", () => {
    let run: PlanRun;
    beforeAll(async () => {
        run = await fleet(3);
    });

    test("one target per app server on its private address, after the load balancer joined the network", () => {
        const targets = ofType(run, "hcloud:index/loadBalancerTarget:LoadBalancerTarget");
        expect(targets.map((t) => [t.name, t.inputs.type, t.inputs.usePrivateIp])).toEqual([0, 1, 2].map((i) => [`web-target-${i}`, "server", true]));
        expect(resource(run, "web-network", "hcloud:index/loadBalancerNetwork:LoadBalancerNetwork").inputs).toMatchObject({ ip: "10.0.0.2", enablePublicInterface: true });
    });

    test("80 and 443 pass TCP through with the PROXY protocol, health-checked on nginx's health listener", () => {
        const services = ofType(run, "hcloud:index/loadBalancerService:LoadBalancerService");
        expect(services.map((s) => [s.inputs.listenPort, s.inputs.destinationPort, s.inputs.protocol, s.inputs.proxyprotocol])).toEqual([[80, 80, "tcp", true], [443, 443, "tcp", true]]);
        for (const s of services) {
            expect(s.inputs.healthCheck).toEqual({
                protocol: "http",
                port: HEALTH_CHECK_PORT,
                interval: HEALTH_CHECK.intervalSeconds,
                timeout: HEALTH_CHECK.timeoutSeconds,
                retries: HEALTH_CHECK.retries,
                http: { path: "/health", domain: "app.example.com", statusCodes: ["2??"] },
            });
        }
    });

    test("each app server's nginx listens on its private address only, trusting the PROXY header from the load balancer", () => {
        for (const i of [0, 1, 2]) {
            const site = file(run, `proxy-${i}-nginx`, "/etc/nginx/sites-enabled/webapp");
            const listens = [...site.matchAll(/^\s*listen (.*);$/gm)].map((m) => m[1]);
            expect(listens).toEqual([`10.0.0.1${i}:80 proxy_protocol`, `10.0.0.1${i}:443 ssl http2 proxy_protocol`, `10.0.0.1${i}:${HEALTH_CHECK_PORT}`]);
            expect(site.match(/set_real_ip_from 10\.0\.0\.2;\n\s*real_ip_header proxy_protocol;/g)).toHaveLength(2);
            const rules = file(run, `host-${i}-firewall`, "/etc/ufw/pulumi-rules").split("\n").filter((l) => l.startsWith("allow"));
            const fromLb = [80, 443, HEALTH_CHECK_PORT].map((p) => `allow proto tcp from 10.0.0.2/32 to any port ${p}`);
            // The first server takes the others' ACME challenges; the others take its certificate push over SSH.
            const peers = i === 0 ? ["10.0.0.11", "10.0.0.12"].map((a) => `allow proto tcp from ${a}/32 to any port ${HEALTH_CHECK_PORT}`) : ["allow proto tcp from 10.0.0.10/32 to any port 22"];
            expect(rules.filter((l) => !l.includes("198.51.100."))).toEqual([...fromLb, ...peers]);
        }
    });

    test("the domain points at the load balancer", () => {
        expect(run.outputs.publicIp).not.toBe((run.outputs.servers as { ipv4: string }[])[0].ipv4);
        expect(run.outputs.privateNetwork).toMatchObject({ loadBalancerIp: "10.0.0.2", databaseIp: "10.0.0.3" });
    });
});

describe("one Let's Encrypt certificate for the fleet", () => {
    let run: PlanRun;
    beforeAll(async () => {
        run = await fleet(3);
    });
    const deps = (name: string) => resource(run, name).dependencies;

    test("only the first app server runs certbot; the others keep their bootstrap certificate until it arrives", () => {
        expect(stepScript(resource(run, "proxy-0-nginx"))).toMatch(/^certbot 'certonly'/m);
        for (const i of [1, 2]) expect(stepScript(resource(run, `proxy-${i}-nginx`))).not.toMatch(/certbot 'certonly'/);
    });

    test("the others pass ACME challenges on to the first server's health listener, which answers them from its webroot", () => {
        expect(file(run, "proxy-1-nginx", "/etc/nginx/sites-enabled/webapp")).toContain(`location ^~ /.well-known/acme-challenge/ {\n        proxy_pass http://10.0.0.10:${HEALTH_CHECK_PORT};`);
        const first = file(run, "proxy-0-nginx", "/etc/nginx/sites-enabled/webapp");
        const health = first.slice(first.indexOf(`listen 10.0.0.10:${HEALTH_CHECK_PORT};`));
        expect(health).toContain("location ^~ /.well-known/acme-challenge/ {\n        root /var/www/acme;");
    });

    test("the push key works only from the first server and only for the receive command", () => {
        const key = /^share-key: (.*)$/m.exec(String(resource(run, "certificate-key").outputs.stdout))![1];
        for (const i of [1, 2]) {
            expect(file(run, `certificate-receive-${i}`, "/etc/webapp/tls-share/authorized_key")).toBe(`restrict,from="10.0.0.10",command="sudo -n /usr/local/lib/webapp/tls-receive" ${key} webapp-tls-share\n`);
        }
    });

    test("the first server pushes to the others at their private addresses, their host keys pinned", () => {
        const hostKey = (i: number) => /^host-key: (.*)$/m.exec(String(resource(run, `certificate-receive-${i}`).outputs.stdout))![1];
        expect(file(run, "proxy-0-nginx", "/etc/webapp/tls-share/known_hosts")).toBe(`10.0.0.11 ${hostKey(1)}\n10.0.0.12 ${hostKey(2)}\n`);
        const hook = file(run, "proxy-0-nginx", "/usr/local/lib/webapp/certbot-deploy-hook");
        expect(hook).toContain("for host in 10.0.0.11 10.0.0.12; do");
        expect(hook).toMatch(/ssh -i \/etc\/webapp\/tls-share\/id_ed25519 -p 22 .*-o StrictHostKeyChecking=yes .* deploy@"\$host"/);
    });

    test("order: the key, then each receive step after its server's firewall and nginx, then the first server's nginx", () => {
        const urn = (name: string) => resource(run, name).urn;
        for (const i of [1, 2]) expect(deps(`certificate-receive-${i}`)).toEqual(expect.arrayContaining([urn("certificate-key"), urn(`host-${i}-firewall`), urn(`proxy-${i}-nginx`)]));
        expect(deps("proxy-0-nginx")).toEqual(expect.arrayContaining([urn("certificate-receive-1"), urn("certificate-receive-2")]));
    });

    test("the app servers restart one at a time: each server's steps wait for the previous one's, and restart drained", () => {
        const urn = (name: string) => resource(run, name).urn;
        expect(deps("service-1-credentials")).toEqual(expect.arrayContaining([urn("service-0-credentials"), urn("service-0-service")]));
        expect(deps("service-2-credentials")).toEqual(expect.arrayContaining([urn("service-1-credentials"), urn("service-1-service")]));
        for (const step of ["service-1-service", "service-1-credentials"]) {
            const script = stepScript(resource(run, step));
            expect(script).toContain("touch /run/nginx-webapp.drain");
            expect(script).toContain(`sleep ${HCLOUD_ROLLING.drainSeconds}\n        systemctl restart webapp.service`);
            expect(script).not.toContain("systemctl try-restart webapp.service");
        }
    });

    test("every step script of the fleet passes shellcheck, and so do the hook and the receive command", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-steps-"));
        try {
            const scripts: [string, string][] = [
                ...ofType(run, "command:remote:Command").map((r) => [r.name, stepScript(r)] as [string, string]),
                ["deploy-hook", file(run, "proxy-0-nginx", "/usr/local/lib/webapp/certbot-deploy-hook")],
                ["tls-receive", file(run, "certificate-receive-1", "/usr/local/lib/webapp/tls-receive")],
            ];
            for (const [name, script] of scripts) {
                fs.writeFileSync(path.join(dir, name), script);
                const res = runTool("shellcheck", ["--shell=bash", "--severity=style", path.join(dir, name)]);
                expect({ name, findings: res.stdout }).toEqual({ name, findings: "" });
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

const AWS_FLEET = { "webapp:provider": "aws", "webapp:databaseEngine": "rds", "webapp:uploadsMode": "none" };

describe.each([1, 3, 10])("a prod fleet of %i app server(s) on AWS", (servers) => {
    let run: PlanRun;
    beforeAll(async () => {
        run = await runStack("prod", { ...AWS_FLEET, "webapp:serverCount": String(servers) });
    });
    const plan = awsFleetPlan({ networkCidr: "10.0.0.0/16", appServers: servers });
    const ingress = () => resource(run, "web-security-group").inputs.ingress as { fromPort: number; cidrBlocks: string[]; ipv6CidrBlocks: string[] }[];

    test("the program runs and the pack finds nothing blocking", () => {
        expect(run.error).toBeUndefined();
        expect(blocking(evaluate(run, ALL_POLICIES, packConfig("prod"))).map((f) => `${f.policy}: ${f.message}`)).toEqual([]);
    });

    test("more than one server: a VPC of its own with app and load balancer subnets in two zones; one server stays in the default VPC", () => {
        const subnets = ofType(run, "aws:ec2/subnet:Subnet").map((r) => [r.name, r.inputs.cidrBlock, r.inputs.availabilityZone, r.inputs.mapPublicIpOnLaunch]);
        const instances = ofType(run, "aws:ec2/instance:Instance").map((r) => [r.inputs.privateIp, r.inputs.subnetId]);
        if (servers === 1) {
            expect(ofType(run, "aws:ec2/vpc:Vpc")).toEqual([]);
            expect(subnets).toEqual([]);
            expect(instances).toEqual([[undefined, undefined]]);
            expect(ingress().filter((r) => [80, 443].includes(r.fromPort)).map((r) => r.cidrBlocks)).toEqual([["0.0.0.0/0"], ["0.0.0.0/0"]]);
            return;
        }
        expect(ofType(run, "aws:ec2/vpc:Vpc").map((r) => r.inputs.cidrBlock)).toEqual(["10.0.0.0/16"]);
        expect(subnets).toEqual([
            ["private-app-0", "10.0.0.0/24", "eu-central-1a", false],
            ["private-app-1", "10.0.1.0/24", "eu-central-1b", false],
            ["private-lb-0", "10.0.2.0/27", "eu-central-1a", false],
            ["private-lb-1", "10.0.2.32/27", "eu-central-1b", false],
        ]);
        const subnetId = (name: string) => resource(run, name).outputs.id ?? resource(run, name).id;
        expect(instances).toEqual(plan.appIps.map((ip, i) => [ip, subnetId(`private-app-${i % 2}`)]));
        expect(ofType(run, "aws:ec2/routeTableAssociation:RouteTableAssociation")).toHaveLength(4);
        expect(resource(run, "database-subnets").inputs.subnetIds).toEqual([subnetId("private-app-0"), subnetId("private-app-1")]);
    });

    test("the servers' security group: SSH from the admin networks; web and health checks only from the load balancer's subnets", () => {
        if (servers === 1) return;
        const rules = ingress().map((r) => `${r.fromPort} ${[...r.cidrBlocks, ...r.ipv6CidrBlocks].join(",")}`);
        const admin = rules.filter((r) => r.startsWith("22 ") && r.includes("198.51.100."));
        expect(admin).toHaveLength(1);
        expect(rules.filter((r) => !admin.includes(r))).toEqual([
            "80 10.0.2.0/26",
            "443 10.0.2.0/26",
            `${HEALTH_CHECK_PORT} 10.0.2.0/26`,
            // The first server takes the others' ACME challenges; the others take its certificate push.
            ...(servers > 1 ? [`${HEALTH_CHECK_PORT} ${plan.appIps.slice(1).map((a) => `${a}/32`).join(",")}`, `22 ${plan.appIps[0]}/32`] : []),
        ]);
        expect(resource(run, "web-security-group").inputs.vpcId).toBe(resource(run, "private-vpc").id);
        expect(resource(run, "database-security-group").inputs.vpcId).toBe(resource(run, "private-vpc").id);
    });

    test("each server's nginx listens on its private address, believes the PROXY header from the load balancer's subnets only; ufw likewise", () => {
        if (servers === 1) return;
        for (const i of [0, servers - 1]) {
            const site = file(run, `proxy-${i}-nginx`, "/etc/nginx/sites-enabled/webapp");
            expect(site).toContain(`listen ${plan.appIps[i]}:443 ssl http2 proxy_protocol;`);
            expect(site.match(/set_real_ip_from 10\.0\.2\.0\/26;\n\s*real_ip_header proxy_protocol;/g)).toHaveLength(2);
            const rules = file(run, `host-${i}-firewall`, "/etc/ufw/pulumi-rules");
            expect(rules).toContain("allow proto tcp from 10.0.2.0/26 to any port 443");
            expect(rules).not.toMatch(/allow proto tcp (from any )?to any port 443/);
        }
    });

    test("the app servers restart one at a time, drained for the network load balancer's health checks", () => {
        if (servers === 1) return;
        const script = stepScript(resource(run, `service-${servers - 1}-service`));
        expect(script).toContain(`sleep ${AWS_ROLLING.drainSeconds}\n        systemctl restart webapp.service`);
        expect(AWS_ROLLING.drainSeconds).toBeGreaterThan(AWS_HEALTH_CHECK.unhealthyThreshold * AWS_HEALTH_CHECK.intervalSeconds + AWS_HEALTH_CHECK.timeoutSeconds);
        expect(resource(run, `service-${servers - 1}-credentials`).dependencies).toEqual(expect.arrayContaining([resource(run, `service-${servers - 2}-service`).urn]));
    });
});

describe("the network load balancer of an AWS fleet of three", () => {
    let run: PlanRun;
    beforeAll(async () => {
        run = await runStack("prod", { ...AWS_FLEET, "webapp:serverCount": "3" });
    });

    test("internet-facing in the load balancer subnets, with a fixed address in each zone", () => {
        const lb = resource(run, "web-nlb").inputs;
        expect(lb).toMatchObject({ name: "webapp-prod", loadBalancerType: "network", internal: false, enableCrossZoneLoadBalancing: true, enableDeletionProtection: true });
        const eips = ofType(run, "aws:ec2/eip:Eip").filter((e) => e.name.startsWith("web-address-"));
        expect(lb.subnetMappings).toEqual([0, 1].map((k) => ({ subnetId: resource(run, `private-lb-${k}`).id, allocationId: eips[k].outputs.allocationId })));
        expect(run.outputs.loadBalancerIps).toEqual(eips.map((e) => e.outputs.publicIp));
        expect(run.outputs.publicIp).toBe(eips[0].outputs.publicIp);
    });

    test("80 and 443 pass TCP through with the PROXY protocol v2 to every server, health-checked on nginx's health listener", () => {
        const groups = ofType(run, "aws:lb/targetGroup:TargetGroup");
        expect(groups.map((g) => [g.inputs.port, g.inputs.protocol, g.inputs.proxyProtocolV2, g.inputs.preserveClientIp, g.inputs.targetType])).toEqual([[80, "TCP", true, "false", "instance"], [443, "TCP", true, "false", "instance"]]);
        for (const g of groups) {
            expect(g.inputs.healthCheck).toEqual({
                enabled: true,
                protocol: "HTTP",
                port: String(HEALTH_CHECK_PORT),
                path: "/health",
                matcher: "200-299",
                interval: AWS_HEALTH_CHECK.intervalSeconds,
                timeout: AWS_HEALTH_CHECK.timeoutSeconds,
                healthyThreshold: AWS_HEALTH_CHECK.healthyThreshold,
                unhealthyThreshold: AWS_HEALTH_CHECK.unhealthyThreshold,
            });
        }
        const instances = ofType(run, "aws:ec2/instance:Instance").map((i) => i.id);
        const attached = ofType(run, "aws:lb/targetGroupAttachment:TargetGroupAttachment").map((a) => [a.inputs.targetGroupArn, a.inputs.targetId, a.inputs.port]);
        expect(attached).toEqual(groups.flatMap((g) => instances.map((id) => [g.outputs.arn, id, g.inputs.port])));
        const listeners = ofType(run, "aws:lb/listener:Listener").map((l) => [l.inputs.port, l.inputs.protocol, (l.inputs.defaultActions as Record<string, unknown>[])[0]]);
        expect(listeners).toEqual(groups.map((g) => [g.inputs.port, "TCP", { type: "forward", targetGroupArn: g.outputs.arn }]));
    });
});

describe("a fleet of existing hosts behind your own load balancer", () => {
    const hosts = ["203.0.113.20", "203.0.113.21"];
    let run: PlanRun;
    beforeAll(async () => {
        run = await runStack("prod", {
            "webapp:provider": "existing",
            "webapp:serverCount": "2",
            "webapp:existingHosts": JSON.stringify(hosts),
            "webapp:databaseHost": "dedicated",
            "webapp:uploadsMode": "none",
            "webapp:existingPrivateAddresses": '["10.0.0.10", "10.0.0.11"]',
            "webapp:existingDatabaseHost": "203.0.113.30",
            "webapp:existingDatabasePrivateAddress": "10.0.0.3",
            "webapp:existingLoadBalancerAddress": "10.0.0.2",
        });
    });
    const host = (step: string) => {
        const c = resource(run, step).inputs.connection as { value?: { host: string } } & { host?: string };
        return (c.value ?? c).host;
    };

    test("creates no server, network or load balancer, and the pack finds nothing blocking", () => {
        expect(run.error).toBeUndefined();
        // Prod's Secrets Manager and off-site bucket stay on AWS; the machines are the user's.
        expect(run.resources.filter((r) => r.type.startsWith("hcloud:") || r.type.startsWith("aws:ec2") || r.type.startsWith("aws:lb")).map((r) => r.type)).toEqual([]);
        expect(blocking(evaluate(run, ALL_POLICIES, packConfig("prod"))).map((f) => `${f.policy}: ${f.message}`)).toEqual([]);
    });

    test("each step reaches its host: the app hosts, and the database host for PostgreSQL and the backups", () => {
        expect([host("host-0-firewall"), host("host-1-firewall"), host("db-host-firewall")]).toEqual([...hosts, "203.0.113.30"]);
        expect([host("database-postgresql"), host("database-role"), host("backups-timers")]).toEqual(["203.0.113.30", "203.0.113.30", "203.0.113.30"]);
    });

    test("the given private addresses: PostgreSQL's listen and pg_hba, nginx's listens and trusted proxy, ufw", () => {
        expect(file(run, "database-postgresql", "/etc/postgresql/15/main/conf.d/60-webapp.conf")).toMatch(/^listen_addresses = 'localhost,10\.0\.0\.3'$/m);
        expect(file(run, "database-postgresql", "/etc/postgresql/15/main/pg_hba.conf")).toMatch(/hostssl\s+webapp\s+webapp\s+10\.0\.0\.11\/32\s+scram-sha-256/);
        const site = file(run, "proxy-1-nginx", "/etc/nginx/sites-enabled/webapp");
        expect(site).toContain("listen 10.0.0.11:443 ssl http2 proxy_protocol;");
        expect(site).toContain("set_real_ip_from 10.0.0.2;");
        expect(file(run, "host-1-firewall", "/etc/ufw/pulumi-rules")).toContain("allow proto tcp from 10.0.0.2/32 to any port 443");
        expect(file(run, "db-host-firewall", "/etc/ufw/pulumi-rules")).toContain("allow proto tcp from 10.0.0.10/32 to any port 5432");
    });

    test("one certificate: the first host pushes it to the second at its private address", () => {
        expect(file(run, "proxy-0-nginx", "/usr/local/lib/webapp/certbot-deploy-hook")).toContain("for host in 10.0.0.11; do");
        expect(file(run, "certificate-receive-1", "/etc/webapp/tls-share/authorized_key")).toMatch(/^restrict,from="10\.0\.0\.10",command=/);
    });
});
