// A client-rendered app: everything it shows comes from the device's replica.
export const ssr = false;
export const prerender = false;
