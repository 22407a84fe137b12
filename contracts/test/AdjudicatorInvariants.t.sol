// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Adjudicator} from "../Adjudicator.sol";
import {IAdjudicator} from "../interfaces/IAdjudicator.sol";
import {TestERC20} from "../mocks/TestERC20.sol";
import {HostileToken} from "../mocks/HostileToken.sol";
import {AdjudicatorHandler} from "./AdjudicatorHandler.sol";

/**
 * @title Adjudicator invariants under random call sequences
 * @notice The fuzzer drives `AdjudicatorHandler` (deposits, signed states, withdrawals, force
 * closes with and without a state, challenges with newer and stale states, time up to and past
 * `MAX_LOCK_WAIT`, secrets, settlement, claims, hostile-token payouts); after every call each
 * `invariant_*` below must hold. Run counts are set inline (Hardhat 3 reads `forge-config:`
 * comments) so that the whole Solidity suite needs about a minute of CPU (45 s on an idle two-core
 * machine); raise them locally for a longer campaign. `fail-on-revert`: the handler never reverts on
 * purpose, so a reverting handler call is a bug in the handler or an arithmetic surprise.
 */
/// forge-config: default.invariant.runs = 128
/// forge-config: default.invariant.depth = 128
/// forge-config: default.invariant.fail-on-revert = true
contract AdjudicatorInvariantsTest {
    error InvariantBroken(string what);
    error ModelDisagrees(uint256 violations, string first);

    AdjudicatorHandler internal handler;
    Adjudicator internal adjudicator;
    TestERC20 internal plain;
    HostileToken internal hostile;
    address internal p0;
    address internal p1;
    address internal eve;

    function setUp() public {
        handler = new AdjudicatorHandler();
        (adjudicator, plain, hostile, p0, p1, eve) = handler.world();
    }

    /// @notice Only the handler is fuzzed.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @notice Nothing is created or lost: for each token, the adjudicator's balance equals what
    /// all channels hold plus every claimable balance, and equals deposits in minus payouts out.
    function invariant_adjudicatorHoldsExactlyWhatItOwes() public view {
        address[2] memory tokens = [address(plain), address(hostile)];
        for (uint256 asset = 0; asset < 2; ++asset) {
            address token = tokens[asset];
            uint256 owed = adjudicator.claimableOf(token, p0) +
                adjudicator.claimableOf(token, p1) +
                adjudicator.claimableOf(token, eve);
            uint256 count = handler.channelCount();
            for (uint256 i = 0; i < count; ++i) {
                (bytes32 id, , , , , ) = handler.channelInfo(i);
                (int256 available0, int256 available1) = adjudicator.holdings(id, asset);
                if (available0 + available1 < 0) revert InvariantBroken("a channel holds less than nothing");
                owed += uint256(available0 + available1);
            }
            uint256 balance = TestERC20(token).balanceOf(address(adjudicator));
            if (balance != owed) revert InvariantBroken("token balance != holdings + claimables");
            (uint256 inflow, uint256 outflow) = handler.ghostFlows(asset);
            if (balance != inflow - outflow) revert InvariantBroken("token balance != deposits - payouts");
        }
    }

    /// @notice Per channel and asset: the contract holds deposits − paid withdrawals for each
    /// participant while open or disputed, nothing once concluded; and withdrawals plus closing
    /// payouts equal the deposits exactly once concluded (never more than the channel held).
    function invariant_channelBooksBalance() public view {
        uint256 count = handler.channelCount();
        for (uint256 i = 0; i < count; ++i) {
            (
                bytes32 id,
                IAdjudicator.Phase phase,
                ,
                uint256[2][2] memory deposits,
                uint256[2][2] memory paid,
                uint256[2][2] memory payouts
            ) = handler.channelInfo(i);
            for (uint256 asset = 0; asset < 2; ++asset) {
                (int256 available0, int256 available1) = adjudicator.holdings(id, asset);
                uint256 deposited = deposits[asset][0] + deposits[asset][1];
                uint256 out = paid[asset][0] + paid[asset][1] + payouts[asset][0] + payouts[asset][1];
                if (phase == IAdjudicator.Phase.Concluded) {
                    if (available0 != 0 || available1 != 0) {
                        revert InvariantBroken("concluded channel still holds funds");
                    }
                    if (out != deposited) revert InvariantBroken("payouts + withdrawals != deposits");
                } else {
                    if (available0 != int256(deposits[asset][0]) - int256(paid[asset][0])) revert InvariantBroken("available0");
                    if (available1 != int256(deposits[asset][1]) - int256(paid[asset][1])) revert InvariantBroken("available1");
                    if (out > deposited) revert InvariantBroken("withdrawals exceed deposits");
                }
            }
        }
    }

    /// @notice A channel's recorded nonce never falls below its last withdrawal checkpoint (and the
    /// handler checks after every call that it never decreases).
    function invariant_nonceNeverBelowCheckpoint() public view {
        uint256 count = handler.channelCount();
        for (uint256 i = 0; i < count; ++i) {
            (bytes32 id, , uint64 checkpoint, , , ) = handler.channelInfo(i);
            (, uint64 nonce, ) = adjudicator.channel(id);
            if (nonce < checkpoint) revert InvariantBroken("nonce below checkpoint");
        }
    }

    /// @notice Claimable balances are exactly the payouts the token refused, minus what was claimed.
    function invariant_claimablesMatchRefusedPayouts() public view {
        address[2] memory tokens = [address(plain), address(hostile)];
        address[2] memory holders = [p0, p1];
        for (uint256 asset = 0; asset < 2; ++asset) {
            for (uint256 who = 0; who < 2; ++who) {
                if (adjudicator.claimableOf(tokens[asset], holders[who]) != handler.ghostClaimable(asset, who)) {
                    revert InvariantBroken("claimable differs from the model");
                }
            }
            if (adjudicator.claimableOf(tokens[asset], eve) != 0) revert InvariantBroken("outsider has a claim");
        }
    }

    /// @notice Every call was accepted or refused exactly as the spec says, every payout was exact,
    /// nonces never decreased, and nothing was paid twice (see AdjudicatorHandler).
    function invariant_contractAgreesWithModel() public view {
        uint256 violations = handler.violations();
        if (violations != 0) revert ModelDisagrees(violations, handler.firstViolation());
    }

    /// @notice A scripted run through the handler reaches every path the campaign relies on
    /// (withdraw → withdraw with a wrong then the right checkpoint, stale and fresh registrations, a lock revealed in time, a refused payout and
    /// its claim, a no-state close answered by a challenge, a cooperative close during a dispute, a
    /// lock resolved only by `MAX_LOCK_WAIT`)
    /// with the model agreeing at each step. Guards against a handler that silently does nothing.
    // solhint-disable-next-line function-max-lines
    function test_handlerScenarioCoversEveryPath() public {
        // Channel 0: challenge period 60 s; both deposit 1000 of asset 0 and 500 of asset 1.
        handler.openChannel(1, 1000);
        handler.deposit(0, 1, 1000);
        handler.deposit(0, 256, 500);
        handler.deposit(0, 257, 500);
        handler.signPayment(0, 0, 100); // nonce 1: participant 0 pays 100 of asset 0
        handler.signWithdrawal(0, 2, 50); // nonce 2: participant 1 withdraws 50 of asset 0
        handler.withdraw(0, 1 | (1 << 16), 0); // checkpoint at nonce 2
        handler.signWithdrawal(0, 2, 30); // nonce 3: participant 1 withdraws 30 more of asset 0
        handler.withdraw(0, 1 | (1 << 24), 0); // nonce 1's state offered as the checkpoint: refused
        handler.withdraw(0, 1 | (1 << 16), 0); // with the checkpointed nonce 2: pays the 30 only
        handler.forceClose(0, 0, 0); // nonce 1 is older than the checkpoint: refused
        handler.signLock(0, 1, 200 | (100 << 128)); // nonce 4: 200 of asset 1 from 0, expiry in 100 s
        handler.revealSecret(0);
        handler.forceClose(0, 1, 0); // register nonce 4
        handler.challenge(0, 1, 0); // same nonce: refused
        handler.challenge(0, 1, 13); // high-s signature: refused
        handler.warpToDeadline(0, 0); // deadline - 1
        handler.settle(0, 0); // too early: refused
        handler.setHostileMode(2, 0); // asset 1 now reverts on payout
        handler.warpToDeadline(0, 2); // deadline + 1
        handler.settle(0, 7); // tampered nets: refused
        handler.settle(0, 0); // lock revealed in time goes to participant 1; asset 1 left claimable
        handler.settle(0, 0); // nothing is paid twice: refused
        handler.claim(0, 1); // token still refuses: claim fails, stays claimable
        handler.setHostileMode(0, 0);
        handler.claim(0, 1);
        handler.claim(1, 1);

        // Channel 1: participant 1 closes without a state; participant 0 answers with nonce 1;
        // then both sign a final state and close cooperatively during the dispute.
        handler.openChannel(2, 300);
        handler.signPayment(1, 0, 30);
        handler.forceCloseWithoutState(1, 2); // an outsider: refused
        handler.forceCloseWithoutState(1, 1);
        handler.challenge(1, 1, 0);
        handler.signFinal(1);
        handler.closeCooperatively(1, 1, 14); // swapped signatures: refused
        handler.closeCooperatively(1, 1, 0);

        // Channel 2: a lock that outlives MAX_LOCK_WAIT and is never revealed holds the settlement
        // until MAX_LOCK_WAIT after the deadline, no longer; then it counts as expired.
        handler.openChannel(3, 1000); // challenge period 60 s; participant 0 deposits 1000 of asset 0
        handler.signLock(2, 12, 100 | (7 << 192)); // nonce 1: asset 0 from 0, unrevealed secret 3, far expiry
        handler.forceClose(2, 1, 0);
        handler.warpToDeadline(2, 2); // deadline + 1
        handler.settle(2, 0); // the lock is neither revealed nor expired: refused
        handler.warpPastLockWait(2, 1); // exactly MAX_LOCK_WAIT after the deadline
        handler.settle(2, 0); // still refused
        handler.warpPastLockWait(2, 2); // one second later
        handler.settle(2, 0); // the lock counts as expired: everything back to participant 0

        uint256 violations = handler.violations();
        if (violations != 0) revert ModelDisagrees(violations, handler.firstViolation());
        bytes32[11] memory paths = [
            bytes32("withdraw"),
            "forceClose",
            "challenge",
            "settleWithLocks",
            "claim",
            "forceCloseWithoutState",
            "closeCooperatively",
            "signFinal",
            "signWithLocks",
            "reveal",
            "settleAfterLockWait"
        ];
        for (uint256 i = 0; i < paths.length; ++i) {
            if (handler.succeeded(paths[i]) == 0) revert InvariantBroken(string(abi.encodePacked(paths[i])));
        }
        if (handler.succeeded("claim") != 2) revert InvariantBroken("two claims");
        if (handler.succeeded("withdraw") != 2) revert InvariantBroken("two withdrawals");
        if (handler.succeeded("wrongCheckpoint") != 1) revert InvariantBroken("a wrong checkpoint offered");
        if (handler.succeeded("settle") != 2) revert InvariantBroken("two settlements");
        invariant_adjudicatorHoldsExactlyWhatItOwes();
        invariant_channelBooksBalance();
        invariant_claimablesMatchRefusedPayouts();
    }

    /// @notice A hostile token never managed to re-enter the adjudicator.
    function invariant_noReentry() public view {
        if (hostile.reentrySucceeded()) revert InvariantBroken("re-entry succeeded");
    }
}
