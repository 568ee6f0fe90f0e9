/**
 * Project id → project number, via Cloud Resource Manager v3 projects.get. The Connect gateway addresses clusters
 * by project number; numbers never change, so each is looked up once per instance.
 */
import type { cloudresourcemanager_v3 } from 'googleapis/build/src/apis/cloudresourcemanager/v3';
import { PermanentError, type RetryOptions, withRetry } from '../errors';

export class ProjectNumbers {
  private readonly cache = new Map<string, Promise<string>>();

  constructor(
    private readonly crm: () => cloudresourcemanager_v3.Cloudresourcemanager,
    private readonly retry: RetryOptions = {},
  ) {}

  numberOf(project: string): Promise<string> {
    if (/^\d+$/.test(project)) return Promise.resolve(project);
    let number = this.cache.get(project);
    if (!number) {
      number = this.lookup(project);
      this.cache.set(project, number);
      number.catch(() => this.cache.delete(project));
    }
    return number;
  }

  private async lookup(project: string): Promise<string> {
    const { data } = await withRetry(
      () => this.crm().projects.get({ name: `projects/${project}` }),
      this.retry,
    );
    const match = /^projects\/(\d+)$/.exec(data.name ?? '');
    if (!match)
      throw new PermanentError(`project ${project} has no number (got ${data.name})`, 'project-number');
    return match[1];
  }
}
