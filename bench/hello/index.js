// The cold-start baseline: the smallest cloudEvent function under the same functions-framework, registered the
// same way as the bundle's (functions-framework's declarative API). It acknowledges every event without work.
const { cloudEvent } = require('@google-cloud/functions-framework');

cloudEvent('onAuditLogEvent', () => {});
