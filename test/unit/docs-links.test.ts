import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The project's own pages: a newcomer who clones it must be able to follow every link in them. */
const pages = ['README.md', 'bench/README.md', 'clients/typescript-client/README.md', 'clients/cli/README.md', 'integrations/oidc-provider/README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const anchorOf = (heading: string) => heading.toLowerCase().replace(/[^\p{L}\p{N} -]/gu, '').replace(/ /g, '-');
const anchorsIn = (file: string) => new Set(readFileSync(file, 'utf8').split('\n').filter((l) => /^#{1,6} /.test(l)).map((l) => anchorOf(l.replace(/^#+ /, ''))));

describe('links in the README and docs', () => {
  for (const page of pages) {
    it(`${page}: every relative link and anchor resolves inside the project`, () => {
      const text = readFileSync(page, 'utf8').replace(/```[\s\S]*?```/g, '');
      const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string).filter((l) => !/^(https?:|mailto:)/.test(l));
      expect(links.length).toBeGreaterThan(0);
      for (const link of links) {
        const [path = '', anchor] = link.split('#');
        const target = path === '' ? page : resolve(dirname(page), path);
        expect(existsSync(target), `${page} → ${link}`).toBe(true);
        expect(resolve(target).startsWith(resolve('.')), `${page} → ${link} leaves the project`).toBe(true);
        if (anchor && target.endsWith('.md')) expect(anchorsIn(target).has(anchor), `${page} → ${link}`).toBe(true);
      }
    });
  }
});
