#!/bin/sh
# Final agent configuration: record what this image is and check that the tools work.
/opt/agent-tools/bin/agent-healthcheck
printf 'AGENT_IMAGE=linux-agent\nAGENT_USER=azdo\n' > /etc/azdo-agent-release
git --version
python3 --version
