// Loaded with `node --import` before dependency-cruiser: see hooks.mjs for why.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
