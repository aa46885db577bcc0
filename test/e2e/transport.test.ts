/**
 * The built CLI's model transport on the paths hosted endpoints use: HTTPS (here with a private CA,
 * as a self-hosted vLLM behind internal TLS has) and an HTTPS_PROXY that tunnels with CONNECT.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCorpus, corpusText, registrationYaml } from '../support/corpus.js';
import { startMockOpenAI } from '../support/mockOpenAI.js';
import { closeServer, listenOnLoopback } from '../support/closeServer.js';
import { closedAfterEach } from '../support/perTest.js';
import { cleanupTempDirs, createGateRepo, makeTempDir, runCli } from '../support/runAction.js';

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

afterAll(() => cleanupTempDirs());

/** A self-signed certificate for 127.0.0.1, made for this run (nothing key-shaped is committed). */
function certificate(): { key: string; cert: string; certFile: string } {
  const dir = makeTempDir('deploysim-tls-');
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), certFile };
}

/** A forward proxy that only tunnels (CONNECT), recording each target. */
async function startConnectProxy(): Promise<{ url: string; targets: string[]; close(): Promise<void> }> {
  const targets: string[] = [];
  const server = createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req, client: net.Socket, head: Buffer) => {
    targets.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    targets,
    close: () => closeServer(server),
  };
}

const startOpenAI = closedAfterEach(startMockOpenAI);
const startProxy = closedAfterEach(startConnectProxy);

function gateRepo() {
  return createGateRepo({
    files: {
      'deploysim.yml': registrationYaml({ categories: [{ id: 'self_harm_instructions', prediction: 100_000 }] }),
      'corpus.jsonl': corpusText(buildCorpus({ size: 12 })),
    },
    workflow: false,
    headFiles: {},
  });
}

const runFlags = (baseUrl: string) => ['run', '--registration', 'deploysim.yml', '--candidate-model', 'candidate-under-test', '--candidate-base-url', baseUrl, '--grader-base-url', baseUrl, '--lock-ref', 'HEAD', '--output-dir', 'out'];
const KEY = ['sk', 'test', 'transport', '424242'].join('-');

describe.runIf(hasOpenssl)('model requests over HTTPS', () => {
  it('trusts a private CA given in NODE_EXTRA_CA_CERTS and refuses the endpoint without it', async () => {
    const tls = certificate();
    const openai = await startOpenAI({ tls });
    const repo = gateRepo();
    const env = { DEPLOYSIM_CANDIDATE_API_KEY: KEY, DEPLOYSIM_GRADER_API_KEY: KEY };

    const trusted = await runCli(runFlags(openai.url), { cwd: repo.dir, env: { ...env, NODE_EXTRA_CA_CERTS: tls.certFile } });
    expect(trusted.code, trusted.stderr).toBe(0);
    expect(openai.byRole('candidate')).toHaveLength(12);
    expect(openai.byRole('grader')).toHaveLength(12);
    expect(openai.requests[0]!.headers.authorization).toBe(`Bearer ${KEY}`);

    const before = openai.requests.length;
    const untrusted = await runCli(runFlags(openai.url), { cwd: repo.dir, env });
    // No request can pass the TLS check: the preflight's first probe stops the run with what to do (exit 2).
    expect(untrusted.code).toBe(2);
    expect(untrusted.stderr).toContain(`The candidate endpoint ${openai.url} presented a TLS certificate that is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate`);
    expect(untrusted.stderr).toContain('set NODE_EXTRA_CA_CERTS');
    expect(untrusted.stdout).not.toContain('Progress: 12/12');
    expect(openai.requests.length).toBe(before);
  });

  it('tunnels through HTTPS_PROXY with CONNECT, except for NO_PROXY hosts', async () => {
    const tls = certificate();
    const openai = await startOpenAI({ tls });
    const tunnel = await startProxy();
    const repo = gateRepo();
    const env = { DEPLOYSIM_CANDIDATE_API_KEY: KEY, DEPLOYSIM_GRADER_API_KEY: KEY, NODE_EXTRA_CA_CERTS: tls.certFile, HTTPS_PROXY: tunnel.url };
    const port = new URL(openai.url).port;

    const proxied = await runCli(runFlags(openai.url), { cwd: repo.dir, env });
    expect(proxied.code, proxied.stderr).toBe(0);
    expect(openai.requests).toHaveLength(24);
    // One keep-alive tunnel per connection, never one per request, and always to the endpoint.
    expect(tunnel.targets.length).toBeGreaterThan(0);
    expect(tunnel.targets.length).toBeLessThan(24);
    expect(new Set(tunnel.targets)).toEqual(new Set([`127.0.0.1:${port}`]));

    const tunnelsBefore = tunnel.targets.length;
    const direct = await runCli(runFlags(openai.url), { cwd: repo.dir, env: { ...env, NO_PROXY: '127.0.0.1' } });
    expect(direct.code, direct.stderr).toBe(0);
    expect(openai.requests).toHaveLength(48);
    expect(tunnel.targets.length).toBe(tunnelsBefore);
  });
});
