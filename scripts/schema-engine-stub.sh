#!/bin/sh
echo "the native Prisma schema engine is not used by chat-gateway: see README (Migrations)" >&2
exit 1
