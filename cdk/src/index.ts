export * from './token-vendor';
