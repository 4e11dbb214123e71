// jsroot ships types only for its main entry; the sub-modules used here are untyped JavaScript.
declare module 'jsroot/io'
declare module 'jsroot/tree'
