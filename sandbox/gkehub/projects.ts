/**
 * The projects the local cloud knows, as Resource Manager v3 answers `projects.get`. Google APIs accept a project
 * id or number wherever a project goes; an unknown project (or one the caller may not see) is a 403, never a 404.
 */
import { permissionDenied } from '../google-rest';

export interface ProjectSpec {
  id: string;
  number: string;
  displayName?: string;
}

export interface Project {
  name: string;
  parent: string;
  projectId: string;
  state: 'ACTIVE';
  displayName: string;
  createTime: string;
  updateTime: string;
  etag: string;
}

const CREATED = '2024-01-01T00:00:00.000Z';

export class ProjectDirectory {
  private readonly specs: ProjectSpec[];

  constructor(projects: ProjectSpec[]) {
    this.specs = projects.map((p) => ({ ...p }));
  }

  /** The project with this id or number, if known. */
  find(idOrNumber: string): ProjectSpec | undefined {
    return this.specs.find((p) => p.id === idOrNumber || p.number === idOrNumber);
  }

  /** `projects.get`: 403 for an unknown project, worded as Resource Manager words it. */
  get(idOrNumber: string): Project {
    const spec = this.find(idOrNumber);
    if (!spec) {
      throw permissionDenied(
        `Permission 'resourcemanager.projects.get' denied on resource '//cloudresourcemanager.googleapis.com/projects/${idOrNumber}' (or it may not exist).`,
        [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'IAM_PERMISSION_DENIED',
            domain: 'cloudresourcemanager.googleapis.com',
            metadata: { permission: 'resourcemanager.projects.get', resource: `projects/${idOrNumber}` },
          },
        ],
      );
    }
    return {
      name: `projects/${spec.number}`,
      parent: 'organizations/0',
      projectId: spec.id,
      state: 'ACTIVE',
      displayName: spec.displayName ?? spec.id,
      createTime: CREATED,
      updateTime: CREATED,
      etag: `W/"${spec.number}"`,
    };
  }

  list(): ProjectSpec[] {
    return this.specs.map((p) => ({ ...p }));
  }
}
