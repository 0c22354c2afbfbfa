import { OP_NAMES } from '@pockengine/core';
console.log(OP_NAMES.length);
