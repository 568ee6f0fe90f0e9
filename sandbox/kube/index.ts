/** The Kubernetes API stand-in: one in-memory API server per GKE cluster of the local cloud. */
export { INITIAL_NAMESPACES, KubeApi, type KubeApiOptions, NAMESPACE_CONTROLLER } from './api';
export { type KubeconfigContext, kubeconfigYaml } from './kubeconfig';
export { RESOURCES, type ResourceType } from './resources';
export { type KubeServer, startKubeServer } from './server';
export { type KubeObject, KubeStore, type ObjectMeta, type StoreChange } from './store';
