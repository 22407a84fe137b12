// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAdjudicator} from "../interfaces/IAdjudicator.sol";
import {HostileToken} from "../mocks/HostileToken.sol";
import {ChannelTestBase} from "./utils/ChannelTestBase.sol";

/**
 * @title Fuzz tests of the Adjudicator's arithmetic: the split and its clamp, withdrawals against
 * later settlement, lock resolution at the expiry boundary, the challenge window, refused payouts.
 * @notice Every test opens a fresh channel (new salt) on the same adjudicator; amounts and nets are
 * fuzzed, payouts are measured as balance and claimable deltas and compared with the spec's formula.
 */
/// forge-config: default.fuzz.runs = 512
contract AdjudicatorFuzzTest is ChannelTestBase {
    error Mismatch(string what, uint256 got, uint256 expected);
    error UnexpectedSuccess(string what);
    error WrongRevert(string what, bytes reason);

    uint64 internal constant PERIOD = 1 hours;
    uint256 internal _salt;

    function setUp() public {
        _deployWorld();
        vm.warp(1_700_000_000);
    }

    // ---------------------------------------------------------------------------------------
    // Encoding
    // ---------------------------------------------------------------------------------------

    /// @notice The contract's EIP-712 digest equals one written out by hand from docs/protocol.md.
    function testFuzz_digestMatchesIndependentEncoding(
        bytes32 channelId,
        uint64 nonce,
        int128 net0,
        int128 net1,
        uint128 w00,
        uint128 w11,
        bytes32 locksRoot,
        bool isFinal
    ) public view {
        uint256[2][2] memory withdrawn;
        withdrawn[0][0] = w00;
        withdrawn[1][1] = w11;
        IAdjudicator.State memory state = _state(channelId, nonce, [int256(net0), int256(net1)], withdrawn, locksRoot, isFinal);
        if (adjudicator.stateDigest(state) != _digest(state)) revert Mismatch("digest", 0, 0);
    }

    // ---------------------------------------------------------------------------------------
    // Split and clamp
    // ---------------------------------------------------------------------------------------

    /// @notice Settlement pays exactly what the channel holds, split by the clamped formula; for a
    /// net that honest parties could sign, each side gets exactly deposits ∓ net.
    function testFuzz_settlementSplitsExactlyWhatIsHeld(uint96 d0, uint96 d1, uint256 netSeed) public {
        uint256 total = uint256(d0) + uint256(d1);
        int256 net = int256(_bound(netSeed, 0, 4 * total + 2)) - int256(2 * total + 1);
        (IAdjudicator.Params memory params, bytes32 id) = _openWith([uint256(d0), 0], [uint256(d1), 0]);
        _forceCloseAndSettle(params, _state(id, 1, [net, int256(0)], _none(), bytes32(0), false));
    }

    /// @notice The clamp holds for every int128 net, including the extremes.
    function testFuzz_splitClampsExtremeNets(uint96 d0, uint96 d1, int128 net) public {
        (IAdjudicator.Params memory params, bytes32 id) = _openWith([uint256(d0), 0], [uint256(d1), 0]);
        _forceCloseAndSettle(params, _state(id, 1, [int256(net), int256(0)], _none(), bytes32(0), false));
    }

    /// @notice Cooperative close splits both assets by the same formula in one transaction.
    function testFuzz_cooperativeCloseSplitsBothAssets(uint96 a0, uint96 a1, uint96 b0, uint96 b1, uint256 seed) public {
        (IAdjudicator.Params memory params, bytes32 id) = _openWith([uint256(a0), uint256(b0)], [uint256(a1), uint256(b1)]);
        int256 netA = int256(_bound(seed, 0, uint256(a0) + a1)) - int256(uint256(a1));
        int256 netB = int256(_bound(seed >> 128, 0, uint256(b0) + b1)) - int256(uint256(b1));
        IAdjudicator.State memory state = _state(id, 1, [netA, netB], _none(), bytes32(0), true);
        uint256[2][2] memory before = _balances();
        adjudicator.closeCooperatively(params, state, _sign(PK0, state), _sign(PK1, state));
        _expectReceived(before, [uint256(a0), uint256(b0)], [uint256(a1), uint256(b1)], [netA, netB]);
    }

    // ---------------------------------------------------------------------------------------
    // Withdrawals, checkpoints and later settlement
    // ---------------------------------------------------------------------------------------

    /// @notice A withdrawal pays exactly withdrawn − paid and checkpoints the state; a later
    /// settlement pays exactly deposits − withdrawals ∓ net; nothing older can be registered.
    function testFuzz_withdrawThenSettleLater(uint96 d0, uint96 d1, uint256 s1, uint256 s2) public {
        (IAdjudicator.Params memory params, bytes32 id) = _openWith([uint256(d0), 0], [uint256(d1), 0]);
        // An honest state with withdrawals (each within its own deposit, the contract's rule) and a net.
        uint256[2][2] memory withdrawn;
        withdrawn[0] = [_bound(s1, 0, d0), _bound(s1 >> 96, 0, d1)];
        uint256 left0 = d0 - withdrawn[0][0];
        uint256 left1 = d1 - withdrawn[0][1];
        int256 net = int256(_bound(s1 >> 192, 0, left0 + left1)) - int256(left1);
        IAdjudicator.State memory first = _state(id, 3, [net, int256(0)], withdrawn, bytes32(0), false);
        uint256[2][2] memory before = _balances();
        adjudicator.withdraw(params, first, _sign(PK0, first), _sign(PK1, first), new IAdjudicator.Lock[](0), _noCheckpoint());
        _expectBalanceDelta(before, 0, 0, withdrawn[0][0]);
        _expectBalanceDelta(before, 0, 1, withdrawn[0][1]);
        (, uint64 checkpoint, ) = adjudicator.channel(id);
        if (checkpoint != 3) revert Mismatch("checkpoint", checkpoint, 3);
        _expectNothingOlderRegistrable(params, id);

        // A later honest state moves a new net within what is left; settle it.
        int256 net2 = int256(_bound(s2, 0, left0 + left1)) - int256(left1);
        IAdjudicator.State memory later = _state(id, 4, [net2, int256(0)], withdrawn, bytes32(0), false);
        before = _balances();
        adjudicator.forceClose(params, later, _sign(PK0, later), _sign(PK1, later), new IAdjudicator.Lock[](0));
        vm.warp(block.timestamp + PERIOD);
        adjudicator.settle(params, _nets(net2, 0), new IAdjudicator.Lock[](0));
        _expectBalanceDelta(before, 0, 0, uint256(int256(left0) - net2));
        _expectBalanceDelta(before, 0, 1, uint256(int256(left1) + net2));
    }

    /// @dev After a checkpoint at nonce 3: nonce 2 cannot be registered, nor "no state".
    function _expectNothingOlderRegistrable(IAdjudicator.Params memory params, bytes32 id) internal {
        IAdjudicator.State memory older = _state(id, 2, [int256(0), int256(0)], _none(), bytes32(0), false);
        try adjudicator.forceClose(params, older, _sign(PK0, older), _sign(PK1, older), new IAdjudicator.Lock[](0)) {
            revert UnexpectedSuccess("registered a state older than the checkpoint");
        } catch (bytes memory reason) {
            _expectSelector(reason, IAdjudicator.StaleNonce.selector, "StaleNonce");
        }
        vm.prank(p1);
        try adjudicator.forceCloseWithoutState(params) {
            revert UnexpectedSuccess("closed without a state after a checkpoint");
        } catch (bytes memory reason) {
            _expectSelector(reason, IAdjudicator.CheckpointExists.selector, "CheckpointExists");
        }
    }

    /// @notice Withdraw → withdraw → settle: the second withdrawal re-supplies the first's state and
    /// pays only what was added since; any other checkpoint is refused; settlement pays the rest.
    function testFuzz_withdrawTwiceThenSettle(uint96 d0, uint96 d1, uint256 s1, uint256 s2) public {
        (IAdjudicator.Params memory params, bytes32 id) = _openWith([uint256(d0), 0], [uint256(d1), 0]);
        uint256[2][2] memory w1;
        w1[0] = [_bound(s1, 0, d0), _bound(s1 >> 96, 0, d1)];
        uint256[2][2] memory w2;
        w2[0] = [_bound(s2, w1[0][0], d0), _bound(s2 >> 96, w1[0][1], d1)];
        uint256[2] memory left = [uint256(d0) - w2[0][0], uint256(d1) - w2[0][1]];
        IAdjudicator.State memory first = _state(id, 1, [int256(0), int256(0)], w1, bytes32(0), false);
        IAdjudicator.State memory second = _state(
            id,
            2,
            [int256(_bound(s2 >> 192, 0, left[0] + left[1])) - int256(left[1]), int256(0)],
            w2,
            bytes32(0),
            false
        );
        adjudicator.withdraw(params, first, _sign(PK0, first), _sign(PK1, first), new IAdjudicator.Lock[](0), _noCheckpoint());

        // Only the checkpointed state itself tells what was paid.
        _expectCheckpointMismatch(params, second, _noCheckpoint());
        // A twin of the checkpoint (same nonce, another net) that would claim nothing was paid.
        _expectCheckpointMismatch(params, second, _state(id, 1, [int256(1), int256(0)], _none(), bytes32(0), false));
        uint256[2][2] memory before = _balances();
        adjudicator.withdraw(params, second, _sign(PK0, second), _sign(PK1, second), new IAdjudicator.Lock[](0), first);
        _expectBalanceDelta(before, 0, 0, w2[0][0] - w1[0][0]);
        _expectBalanceDelta(before, 0, 1, w2[0][1] - w1[0][1]);
        // Replayed, it pays nothing again.
        try adjudicator.withdraw(params, second, _sign(PK0, second), _sign(PK1, second), new IAdjudicator.Lock[](0), second) {
            revert UnexpectedSuccess("paid a withdrawal twice");
        } catch (bytes memory reason) {
            _expectSelector(reason, IAdjudicator.StaleNonce.selector, "StaleNonce");
        }
        _settleAndExpect(params, second, left);
    }

    function _expectCheckpointMismatch(
        IAdjudicator.Params memory params,
        IAdjudicator.State memory state,
        IAdjudicator.State memory checkpoint
    ) private {
        try adjudicator.withdraw(params, state, _sign(PK0, state), _sign(PK1, state), new IAdjudicator.Lock[](0), checkpoint) {
            revert UnexpectedSuccess("withdrew with a checkpoint that is not the checkpointed state");
        } catch (bytes memory reason) {
            bytes memory expected = abi.encodeWithSelector(IAdjudicator.CheckpointMismatch.selector, checkpoint.nonce);
            if (keccak256(reason) != keccak256(expected)) revert WrongRevert("CheckpointMismatch", reason);
        }
    }

    /// @dev Registers `state`, settles it, and checks that asset 0 pays `left` ∓ its net exactly.
    function _settleAndExpect(IAdjudicator.Params memory params, IAdjudicator.State memory state, uint256[2] memory left) private {
        int256 net = state.allocations[0].net;
        uint256[2][2] memory before = _balances();
        adjudicator.forceClose(params, state, _sign(PK0, state), _sign(PK1, state), new IAdjudicator.Lock[](0));
        vm.warp(block.timestamp + PERIOD);
        adjudicator.settle(params, _nets(net, 0), new IAdjudicator.Lock[](0));
        _expectBalanceDelta(before, 0, 0, uint256(int256(left[0]) - net));
        _expectBalanceDelta(before, 0, 1, uint256(int256(left[1]) + net));
    }

    /// @notice A withdrawal that would leave less than the state's net and its locks refuses, whoever
    /// it favours; a malformed lock (unknown asset) reserves nothing.
    function testFuzz_withdrawalNeverUncoversTheNet(uint96 d0, uint96 d1, uint256 seed, uint256 lockSeed) public {
        (IAdjudicator.Params memory params, bytes32 id) = _openWith([uint256(d0), 0], [uint256(d1), 0]);
        uint256 total = uint256(d0) + d1;
        int256 net = int256(_bound(seed, 0, 2 * total)) - int256(total);
        uint256[2][2] memory withdrawn;
        withdrawn[0] = [_bound(seed >> 128, 0, d0), _bound(seed >> 192, 0, d1)];
        IAdjudicator.Lock[] memory locks = new IAdjudicator.Lock[](1);
        locks[0] = IAdjudicator.Lock({
            assetIndex: (lockSeed >> 136) % 4 == 0 ? 5 : 0,
            sender: uint8((lockSeed >> 128) % 2),
            amount: uint128(_bound(lockSeed, 0, total)),
            hashlock: _hashlock(_secret(0)),
            expiry: uint64(block.timestamp + 1 days)
        });
        IAdjudicator.State memory state = _state(id, 1, [net, int256(0)], withdrawn, _locksRoot(locks), false);
        bool covered = _covers(d0 - withdrawn[0][0], d1 - withdrawn[0][1], net, locks[0]);
        try adjudicator.withdraw(params, state, _sign(PK0, state), _sign(PK1, state), locks, _noCheckpoint()) {
            if (!covered) revert UnexpectedSuccess("withdrawal left the net or a lock uncovered");
        } catch (bytes memory reason) {
            if (covered) revert WrongRevert("refused a covered withdrawal", reason);
            _expectSelector(reason, IAdjudicator.WithdrawalExceedsBalance.selector, "WithdrawalExceedsBalance");
        }
    }

    /// @dev Whether what each side keeps of asset 0 covers the net and what `lock` reserves of it.
    function _covers(uint256 left0, uint256 left1, int256 net, IAdjudicator.Lock memory lock) private pure returns (bool) {
        int256 locked = lock.assetIndex == 0 ? int256(uint256(lock.amount)) : int256(0);
        int256 keep0 = int256(left0) - net - (lock.sender == 0 ? locked : int256(0));
        int256 keep1 = int256(left1) + net - (lock.sender == 1 ? locked : int256(0));
        return keep0 >= 0 && keep1 >= 0;
    }

    // ---------------------------------------------------------------------------------------
    // Locks
    // ---------------------------------------------------------------------------------------

    /// @notice A lock goes to its receiver iff its secret was revealed at or before its expiry
    /// (the boundary second included); settlement waits while a lock is neither revealed nor expired.
    function testFuzz_lockResolution(
        uint96 amountSeed,
        bool senderIsOne,
        uint32 expiryOffset,
        uint32 revealOffset,
        bool reveal
    ) public {
        (IAdjudicator.Params memory params, bytes32 id) = _openWith([uint256(1000), 0], [uint256(1000), 0]);
        uint256 t0 = block.timestamp;
        uint8 sender = senderIsOne ? 1 : 0;
        uint128 amount = uint128(_bound(amountSeed, 1, 1000));
        bytes32 secret = _secret(uint256(keccak256(abi.encode(id))));
        IAdjudicator.Lock[] memory locks = new IAdjudicator.Lock[](1);
        locks[0] = IAdjudicator.Lock({
            assetIndex: 0,
            sender: sender,
            amount: amount,
            hashlock: _hashlock(secret),
            expiry: uint64(t0 + _bound(expiryOffset, 0, 3 days))
        });
        IAdjudicator.State memory state = _state(id, 1, [int256(0), int256(0)], _none(), _locksRoot(locks), false);
        uint256[2][2] memory before = _balances();
        adjudicator.forceClose(params, state, _sign(PK0, state), _sign(PK1, state), locks);

        // Half the time reveal right at the boundary: one second before, at, or after the expiry.
        uint256 revealTime = t0 + _bound(revealOffset, 0, 4 days);
        if (revealOffset % 2 == 0) revealTime = uint256(locks[0].expiry) + ((revealOffset >> 1) % 3) - 1;
        if (revealTime < t0) revealTime = t0;
        if (reveal) {
            vm.warp(revealTime);
            adjudicator.revealSecret(secret);
        }
        uint256 deadline = t0 + PERIOD;
        if (block.timestamp < deadline) vm.warp(deadline);
        bool toReceiver = reveal && revealTime <= locks[0].expiry;
        bool resolved = toReceiver || block.timestamp > locks[0].expiry;
        if (!resolved) {
            try adjudicator.settle(params, _nets(0, 0), locks) {
                revert UnexpectedSuccess("settled with an unresolved lock");
            } catch (bytes memory reason) {
                _expectSelector(reason, IAdjudicator.LockUnresolved.selector, "LockUnresolved");
            }
            vm.warp(uint256(locks[0].expiry) + 1);
        }
        adjudicator.settle(params, _nets(0, 0), locks);
        int256 shift = toReceiver ? (sender == 0 ? int256(uint256(amount)) : -int256(uint256(amount))) : int256(0);
        _expectBalanceDelta(before, 0, 0, uint256(1000 - shift));
        _expectBalanceDelta(before, 0, 1, uint256(1000 + shift));
    }

    // ---------------------------------------------------------------------------------------
    // Challenge window
    // ---------------------------------------------------------------------------------------

    /// @notice A challenge at any time before the deadline moves the deadline to at least a full
    /// period after it; challenging at the deadline and settling before it both refuse.
    function testFuzz_challengeWindowGivesAFullPeriod(uint64 periodSeed, uint64 firstDelay, uint64 secondDelay) public {
        uint64 period = uint64(_bound(periodSeed, 60, 30 days));
        (IAdjudicator.Params memory params, bytes32 id) = _openWithPeriod(period, [uint256(10), 0], [uint256(10), 0]);
        IAdjudicator.State memory s1 = _state(id, 1, [int256(1), int256(0)], _none(), bytes32(0), false);
        IAdjudicator.State memory s2 = _state(id, 2, [int256(2), int256(0)], _none(), bytes32(0), false);
        IAdjudicator.State memory s3 = _state(id, 3, [int256(3), int256(0)], _none(), bytes32(0), false);
        adjudicator.forceClose(params, s1, _sign(PK0, s1), _sign(PK1, s1), new IAdjudicator.Lock[](0));
        (, , uint64 d1) = adjudicator.channel(id);
        if (d1 != block.timestamp + period) revert Mismatch("first deadline", d1, block.timestamp + period);

        vm.warp(block.timestamp + _bound(firstDelay, 0, period - 1));
        adjudicator.challenge(params, s2, _sign(PK0, s2), _sign(PK1, s2), new IAdjudicator.Lock[](0));
        (, , uint64 d2) = adjudicator.channel(id);
        uint256 expected = block.timestamp + period > d1 ? block.timestamp + period : d1;
        if (d2 != expected) revert Mismatch("extended deadline", d2, expected);

        vm.warp(d2 - 1 - _bound(secondDelay, 0, period - 1));
        try adjudicator.settle(params, _nets(2, 0), new IAdjudicator.Lock[](0)) {
            revert UnexpectedSuccess("settled before the deadline");
        } catch (bytes memory reason) {
            _expectSelector(reason, IAdjudicator.ChallengePeriodNotOver.selector, "ChallengePeriodNotOver");
        }
        vm.warp(d2);
        try adjudicator.challenge(params, s3, _sign(PK0, s3), _sign(PK1, s3), new IAdjudicator.Lock[](0)) {
            revert UnexpectedSuccess("challenged at the deadline");
        } catch (bytes memory reason) {
            _expectSelector(reason, IAdjudicator.ChallengePeriodOver.selector, "ChallengePeriodOver");
        }
        uint256[2][2] memory before = _balances();
        adjudicator.settle(params, _nets(2, 0), new IAdjudicator.Lock[](0));
        _expectBalanceDelta(before, 0, 0, 8);
        _expectBalanceDelta(before, 0, 1, 12);
    }

    // ---------------------------------------------------------------------------------------
    // Refused payouts
    // ---------------------------------------------------------------------------------------

    /// @notice When the hostile asset refuses a payout (revert, false, gas burn) the amount becomes
    /// claimable, the plain asset is still pushed, and a later claim pays exactly once.
    function testFuzz_refusedPayoutBecomesClaimableOnce(uint8 modeSeed, uint96 a0, uint96 a1, uint96 b0, uint96 b1, uint256 seed) public {
        HostileToken.Mode mode = HostileToken.Mode(_bound(modeSeed, 0, 4));
        (IAdjudicator.Params memory params, bytes32 id) = _openWith([uint256(a0), uint256(b0)], [uint256(a1), uint256(b1)]);
        int256 netA = int256(_bound(seed, 0, uint256(a0) + a1)) - int256(uint256(a1));
        int256 netB = int256(_bound(seed >> 128, 0, uint256(b0) + b1)) - int256(uint256(b1));
        hostile.arm(mode, address(adjudicator), abi.encodeCall(adjudicator.claim, (address(hostile))));
        IAdjudicator.State memory state = _state(id, 1, [netA, netB], _none(), bytes32(0), true);
        uint256[2][2] memory before = _balances();
        adjudicator.closeCooperatively(params, state, _sign(PK0, state), _sign(PK1, state));
        _expectReceived(before, [uint256(a0), uint256(b0)], [uint256(a1), uint256(b1)], [netA, netB]);

        bool refusing = mode == HostileToken.Mode.Revert ||
            mode == HostileToken.Mode.ReturnFalse ||
            mode == HostileToken.Mode.BurnGas;
        uint256 owed0 = uint256(int256(uint256(b0)) - netB);
        uint256 owed1 = uint256(int256(uint256(b1)) + netB);
        uint256 claimable0 = adjudicator.claimableOf(address(hostile), p0);
        uint256 claimable1 = adjudicator.claimableOf(address(hostile), p1);
        if (claimable0 != (refusing ? owed0 : 0)) revert Mismatch("claimable0", claimable0, refusing ? owed0 : 0);
        if (claimable1 != (refusing ? owed1 : 0)) revert Mismatch("claimable1", claimable1, refusing ? owed1 : 0);
        if (hostile.reentrySucceeded()) revert UnexpectedSuccess("re-entry");

        hostile.arm(HostileToken.Mode.Honest, address(adjudicator), "");
        address[2] memory holders = [p0, p1];
        for (uint256 who = 0; who < 2; ++who) {
            uint256 owed = who == 0 ? claimable0 : claimable1;
            if (owed == 0) continue;
            uint256 balanceBefore = hostile.balanceOf(holders[who]);
            vm.prank(holders[who]);
            adjudicator.claim(address(hostile));
            if (hostile.balanceOf(holders[who]) - balanceBefore != owed) revert Mismatch("claimed", 0, owed);
            vm.prank(holders[who]);
            try adjudicator.claim(address(hostile)) {
                revert UnexpectedSuccess("claimed twice");
            } catch (bytes memory reason) {
                _expectSelector(reason, IAdjudicator.NothingClaimable.selector, "NothingClaimable");
            }
        }
        if (hostile.balanceOf(address(adjudicator)) != 0) revert Mismatch("left in adjudicator", 0, 0);
    }

    // ---------------------------------------------------------------------------------------
    // Withdrawing received funds
    // ---------------------------------------------------------------------------------------

    /// @notice A participant withdraws, without closing, funds it received off chain (docs/protocol.md
    /// calls a state valid when `deposits(X) − withdrawnX ∓ net − locked(X) ≥ 0` for both sides); the
    /// payer's side stays covered and the later settlement pays the rest exactly.
    function testFuzz_withdrawReceivedFunds(uint256 paidSeed, uint256 withdrawSeed) public {
        uint256 paidOver = _bound(paidSeed, 1, 100);
        uint256 withdrawn1 = _bound(withdrawSeed, 1, paidOver);
        (IAdjudicator.Params memory params, bytes32 id) = _openWith([uint256(100), 0], [uint256(0), 0]);
        uint256[2][2] memory withdrawn;
        withdrawn[0][1] = withdrawn1;
        IAdjudicator.State memory state = _state(id, 1, [int256(paidOver), int256(0)], withdrawn, bytes32(0), false);
        uint256[2][2] memory before = _balances();
        adjudicator.withdraw(params, state, _sign(PK0, state), _sign(PK1, state), new IAdjudicator.Lock[](0), _noCheckpoint());
        _expectBalanceDelta(before, 0, 1, withdrawn1);
        (int256 available0, int256 available1) = adjudicator.holdings(id, 0);
        if (available0 != 100 || available1 != -int256(withdrawn1)) revert Mismatch("holdings", uint256(available0), withdrawn1);
        // More than received is refused.
        IAdjudicator.State memory greedy = _state(id, 2, [int256(paidOver), int256(0)], _withdrawnOf(paidOver + 1), bytes32(0), false);
        try adjudicator.withdraw(params, greedy, _sign(PK0, greedy), _sign(PK1, greedy), new IAdjudicator.Lock[](0), state) {
            revert UnexpectedSuccess("withdrew more than received");
        } catch (bytes memory reason) {
            bytes memory expected = abi.encodeWithSelector(IAdjudicator.WithdrawalExceedsBalance.selector, address(plain), 1);
            if (keccak256(reason) != keccak256(expected)) revert WrongRevert("WithdrawalExceedsBalance(plain, 1)", reason);
        }
        // Settling the withdrawal state pays participant 0 its 100 - paidOver and 1 the rest.
        uint256[2][2] memory beforeClose = _balances();
        adjudicator.forceClose(params, state, _sign(PK0, state), _sign(PK1, state), new IAdjudicator.Lock[](0));
        vm.warp(block.timestamp + params.challengePeriod);
        adjudicator.settle(params, _nets(int256(paidOver), 0), new IAdjudicator.Lock[](0));
        _expectBalanceDelta(beforeClose, 0, 0, 100 - paidOver);
        _expectBalanceDelta(beforeClose, 0, 1, paidOver - withdrawn1);
    }

    function _withdrawnOf(uint256 participant1Amount) private pure returns (uint256[2][2] memory withdrawn) {
        withdrawn[0][1] = participant1Amount;
    }

    // ---------------------------------------------------------------------------------------
    // Helpers
    // ---------------------------------------------------------------------------------------

    function _openWith(
        uint256[2] memory deposits0,
        uint256[2] memory deposits1
    ) internal returns (IAdjudicator.Params memory params, bytes32 id) {
        return _openWithPeriod(PERIOD, deposits0, deposits1);
    }

    /// @dev Opens a fresh channel; `depositsX[asset]` is what participant X deposits of each asset.
    function _openWithPeriod(
        uint64 period,
        uint256[2] memory deposits0,
        uint256[2] memory deposits1
    ) internal returns (IAdjudicator.Params memory params, bytes32 id) {
        params = _params(bytes32(++_salt), period);
        vm.prank(p0);
        id = adjudicator.open(params, 0, 0);
        for (uint256 asset = 0; asset < 2; ++asset) {
            _depositFor(params, p0, asset, deposits0[asset]);
            _depositFor(params, p1, asset, deposits1[asset]);
        }
    }

    function _depositFor(IAdjudicator.Params memory params, address who, uint256 asset, uint256 amount) internal {
        if (amount == 0) return;
        _mint(who, asset, amount);
        vm.prank(who);
        adjudicator.deposit(params, asset, amount);
    }

    function _none() internal pure returns (uint256[2][2] memory) {}

    function _nets(int256 net0, int256 net1) internal pure returns (int256[] memory nets) {
        nets = new int256[](2);
        nets[0] = net0;
        nets[1] = net1;
    }

    /// @dev Registers `state`, waits out the period, settles, and checks the split of asset 0.
    function _forceCloseAndSettle(IAdjudicator.Params memory params, IAdjudicator.State memory state) internal {
        bytes32 id = state.channelId;
        (int256 signed0, int256 signed1) = adjudicator.holdings(id, 0);
        // These channels withdraw nothing, so neither side's holding is negative.
        uint256 available0 = uint256(signed0);
        uint256 available1 = uint256(signed1);
        uint256[2][2] memory before = _balances();
        adjudicator.forceClose(params, state, _sign(PK0, state), _sign(PK1, state), new IAdjudicator.Lock[](0));
        vm.warp(block.timestamp + params.challengePeriod);
        adjudicator.settle(params, _nets(state.allocations[0].net, state.allocations[1].net), new IAdjudicator.Lock[](0));
        (uint256 expected0, uint256 expected1) = _referenceSplit(available0, available1, state.allocations[0].net);
        _expectBalanceDelta(before, 0, 0, expected0);
        _expectBalanceDelta(before, 0, 1, expected1);
        if (expected0 + expected1 != available0 + available1) revert Mismatch("sum", expected0 + expected1, available0 + available1);
        int256 net = state.allocations[0].net;
        if (int256(available0) - net >= 0 && int256(available1) + net >= 0) {
            // A net honest parties could sign: no clamping, each gets exactly its balance.
            if (int256(expected0) != int256(available0) - net) revert Mismatch("exact share", expected0, 0);
        }
        (int256 left0, int256 left1) = adjudicator.holdings(id, 0);
        if (left0 != 0 || left1 != 0) revert Mismatch("left in channel", uint256(left0) + uint256(left1), 0);
    }

    function _balances() internal view returns (uint256[2][2] memory out) {
        for (uint256 asset = 0; asset < 2; ++asset) {
            out[asset][0] = _tokenBalance(asset, p0);
            out[asset][1] = _tokenBalance(asset, p1);
        }
    }

    function _tokenBalance(uint256 asset, address who) internal view returns (uint256) {
        return asset == 0 ? plain.balanceOf(who) : hostile.balanceOf(who);
    }

    /// @dev Participant `who` gained exactly `expected` of `asset` (pushed plus newly claimable).
    function _expectBalanceDelta(uint256[2][2] memory before, uint256 asset, uint256 who, uint256 expected) internal view {
        uint256 got = _tokenBalance(asset, _participant(who)) - before[asset][who];
        if (got != expected) revert Mismatch("balance delta", got, expected);
    }

    /// @dev Both assets split by deposits ∓ net, counting pushed and claimable together.
    function _expectReceived(
        uint256[2][2] memory before,
        uint256[2] memory deposits0,
        uint256[2] memory deposits1,
        int256[2] memory nets
    ) internal view {
        for (uint256 asset = 0; asset < 2; ++asset) {
            uint256 expected0 = uint256(int256(deposits0[asset]) - nets[asset]);
            uint256 expected1 = uint256(int256(deposits1[asset]) + nets[asset]);
            address token = _token(asset);
            uint256 got0 = _tokenBalance(asset, p0) - before[asset][0] + adjudicator.claimableOf(token, p0);
            uint256 got1 = _tokenBalance(asset, p1) - before[asset][1] + adjudicator.claimableOf(token, p1);
            if (got0 != expected0) revert Mismatch("received0", got0, expected0);
            if (got1 != expected1) revert Mismatch("received1", got1, expected1);
        }
    }

    function _expectSelector(bytes memory reason, bytes4 selector, string memory what) internal pure {
        if (reason.length < 4 || bytes4(reason) != selector) revert WrongRevert(what, reason);
    }
}
