// Where the tests find MariaDB/MySQL and Redis (the real ones on the machine). global-setup.ts
// gives each test run its own database and Redis db unless TEST_DATABASE_URL / TEST_REDIS_URL are set,
// so several runs on one machine (developers, CI) never trample each other.
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/touchpoint_test';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/15';
