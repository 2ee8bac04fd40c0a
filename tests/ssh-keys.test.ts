import { parsePublicKey } from "../lib/ssh-keys";
import { sshKeygen } from "./helpers";

describe("parsePublicKey with keys made by ssh-keygen", () => {
    test("ed25519 is accepted with its comment", () => {
        const line = sshKeygen("ed25519");
        expect(parsePublicKey(line)).toEqual({ type: "ssh-ed25519", bits: 256, comment: "test-ed25519", line });
    });

    test("ecdsa is accepted", () => {
        expect(parsePublicKey(sshKeygen("ecdsa", 384))).toMatchObject({ type: "ecdsa-sha2-nistp384" });
    });

    test("RSA 3072 is accepted and its size is read from the modulus", () => {
        expect(parsePublicKey(sshKeygen("rsa", 3072))).toMatchObject({ type: "ssh-rsa", bits: 3072 });
    });

    test("RSA 2048 is refused", () => {
        expect(parsePublicKey(sshKeygen("rsa", 2048))).toEqual({ error: expect.stringMatching(/RSA key of 2048 bits; at least 3072/) });
    });

    test("a key body of another type is refused", () => {
        const [, body] = sshKeygen("ed25519").split(" ");
        expect(parsePublicKey(`ssh-rsa ${body}`)).toEqual({ error: expect.stringMatching(/does not encode a ssh-rsa key/) });
    });

    test.each([
        ["", /not an OpenSSH public key line/],
        ["ssh-ed25519", /not an OpenSSH public key line/],
        ["ssh-ed25519 !!!notbase64", /not base64/],
        ["ssh-dss AAAAB3NzaC1kc3M=", /key type "ssh-dss"/],
    ])("%j is refused", (line, error) => {
        expect(parsePublicKey(line)).toEqual({ error: expect.stringMatching(error) });
    });
});
