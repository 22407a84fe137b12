// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title The Clearline Adjudicator's types, events and errors
/// @author Clearline
/// @notice Shared by the adjudicator, its tests and off-chain decoders (docs/protocol.md).
interface IAdjudicator {
    /// @notice Fixed parameters of a channel; their hash (with chain id and the adjudicator) is its id.
    struct Params {
        address[2] participants;
        address[] assets;
        uint64 challengePeriod;
        bytes32 salt;
    }

    /// @notice How one asset is split: `net` moved from participant 0 to 1, cumulative withdrawals.
    struct Allocation {
        address token;
        int256 net;
        uint256 withdrawn0;
        uint256 withdrawn1;
    }

    /// @notice An off-chain state, signed by both participants as EIP-712 typed data.
    struct State {
        bytes32 channelId;
        uint64 nonce;
        Allocation[] allocations;
        bytes32 locksRoot;
        bool isFinal;
    }

    /// @notice A hashlocked conditional transfer of `amount` of asset `assetIndex` from `sender`.
    struct Lock {
        uint8 assetIndex;
        uint8 sender;
        uint128 amount;
        bytes32 hashlock;
        uint64 expiry;
    }

    /// @notice Where a channel is in its life.
    enum Phase {
        None,
        Open,
        Disputed,
        Concluded
    }

    /// @notice A channel was opened with these parameters.
    /// @param channelId The channel.
    /// @param participant0 Participant 0 (the venue, by convention).
    /// @param participant1 Participant 1 (the investor).
    /// @param assets The channel's tokens.
    /// @param challengePeriod The challenge period, in seconds.
    /// @param salt The salt that tells channels of the same parties apart.
    event ChannelOpened(
        bytes32 indexed channelId,
        address indexed participant0,
        address indexed participant1,
        address[] assets,
        uint64 challengePeriod,
        bytes32 salt
    );
    /// @notice `participant` deposited `amount` of `token` into the channel.
    /// @param channelId The channel.
    /// @param token The token.
    /// @param participant The depositor, credited with the deposit.
    /// @param amount The amount, exactly what arrived.
    event Deposited(bytes32 indexed channelId, address indexed token, address participant, uint256 amount);
    /// @notice A co-signed state paid out withdrawals and became the channel's checkpoint.
    /// @param channelId The channel.
    /// @param nonce The checkpointed state's nonce.
    event Withdrawn(bytes32 indexed channelId, uint64 nonce);
    /// @notice A state (nonce 0 with zero nets: no state) was registered; it settles at `deadline`.
    /// `locks` is the state's lock list (its canonical root is zero when empty, else
    /// `keccak256(abi.encode(locks))`): settlement needs nothing else.
    /// @param channelId The channel.
    /// @param nonce The registered state's nonce.
    /// @param deadline The end of the challenge period.
    /// @param nets The registered state's nets, one per asset.
    /// @param locks The registered state's lock list.
    event StateRegistered(bytes32 indexed channelId, uint64 nonce, uint64 deadline, int256[] nets, Lock[] locks);
    /// @notice The channel was closed and paid out according to the state with `nonce`.
    /// @param channelId The channel.
    /// @param nonce The nonce of the state it concluded with.
    event ChannelConcluded(bytes32 indexed channelId, uint64 nonce);
    /// @notice A pushed payout failed; `amount` became claimable by `holder`.
    /// @param channelId The channel.
    /// @param token The token.
    /// @param holder Who may claim it.
    /// @param amount The amount.
    event PayoutDeferred(bytes32 indexed channelId, address indexed token, address indexed holder, uint256 amount);
    /// @notice A movement of `amount` of a restricted `token` from `from` to `to` failed the token's
    /// rules (ERC-1404 `code`; 0xFF when the token could not answer) and is held for the controller.
    /// @param channelId The channel.
    /// @param token The restricted token.
    /// @param from The sender of the movement.
    /// @param to The receiver it was not paid to.
    /// @param amount The amount held.
    /// @param code The token's ERC-1404 restriction code, or 0xFF.
    event MovementHeld(
        bytes32 indexed channelId,
        address indexed token,
        address indexed from,
        address to,
        uint256 amount,
        uint8 code
    );
    /// @notice A held movement from `from` to `to` was paid to `recipient` (by the controller, or
    /// claimed by `to` once the token's rules allowed it: then `releasedBy` is `to`).
    /// @param token The restricted token.
    /// @param from The sender of the held movement.
    /// @param to The receiver of the held movement.
    /// @param recipient Who was paid.
    /// @param amount The amount.
    /// @param releasedBy The controller, or `to` itself.
    event HeldReleased(
        address indexed token,
        address indexed from,
        address indexed to,
        address recipient,
        uint256 amount,
        address releasedBy
    );
    /// @notice `holder` claimed its claimable balance of `token`.
    /// @param token The token.
    /// @param holder The holder.
    /// @param amount The amount.
    event Claimed(address indexed token, address indexed holder, uint256 amount);
    /// @notice The token's controller moved a frozen holder's claimable balance to `recipient`.
    /// @param token The restricted token.
    /// @param holder The frozen holder.
    /// @param recipient Where the balance went.
    /// @param amount The amount.
    /// @param controller The controller who moved it.
    event ClaimableRecovered(
        address indexed token,
        address indexed holder,
        address indexed recipient,
        uint256 amount,
        address controller
    );
    /// @notice The preimage of `hashlock` was revealed at this block's time.
    /// @param hashlock keccak256 of the secret.
    /// @param secret The secret.
    event SecretRevealed(bytes32 indexed hashlock, bytes32 secret);

    /// @notice Participant `index` is the zero address.
    error ZeroParticipant(uint256 index);
    /// @notice Both participants are `participant`.
    error SameParticipants(address participant);
    /// @notice `account` is not a participant of the channel.
    error NotParticipant(address account);
    /// @notice A channel needs 1 to MAX_ASSETS assets; it has `count`.
    error InvalidAssetCount(uint256 count);
    /// @notice Asset `index` is the zero address.
    error ZeroAsset(uint256 index);
    /// @notice `asset` appears twice in the asset list.
    error DuplicateAsset(address asset);
    /// @notice The challenge period is outside the allowed range.
    error InvalidChallengePeriod(uint64 challengePeriod);
    /// @notice The channel is not in a phase that allows this call.
    error WrongPhase(bytes32 channelId, Phase phase);
    /// @notice The asset index is out of range.
    error InvalidAssetIndex(uint256 assetIndex);
    /// @notice A deposit of zero of asset `assetIndex`.
    error ZeroAmount(uint256 assetIndex);
    /// @notice `token` delivered `received` instead of `expected` (fee-on-transfer, rebasing): refused.
    error DeliveryMismatch(address token, uint256 expected, uint256 received);
    /// @notice The state belongs to another channel (or another chain or adjudicator).
    error WrongChannel(bytes32 expected, bytes32 actual);
    /// @notice The state has `actual` allocations; the channel has `expected` assets.
    error AllocationCountMismatch(uint256 expected, uint256 actual);
    /// @notice Allocation `index` is for `actual`, the channel's asset is `expected`.
    error AllocationTokenMismatch(uint256 index, address expected, address actual);
    /// @notice Allocation `index` has a net outside int128 or a withdrawal outside uint128.
    error AllocationOutOfRange(uint256 index);
    /// @notice The signature of participant `participantIndex` is missing, malleable or not theirs.
    error InvalidSignature(uint256 participantIndex);
    /// @notice The state is not newer than what the channel already has.
    error StaleNonce(uint64 known, uint64 offered);
    /// @notice A state (`nonce`) given as the checkpointed state, or with the checkpoint's nonce, that
    /// is not the checkpointed state; before the first withdrawal, a checkpoint with allocations.
    error CheckpointMismatch(uint64 nonce);
    /// @notice A final state is required here; state `nonce` is not final.
    error NotFinal(uint64 nonce);
    /// @notice A final state (`nonce`) cannot be used here.
    error UnexpectedFinal(uint64 nonce);
    /// @notice A final state carries locks (`locksRoot`).
    error FinalStateWithLocks(bytes32 locksRoot);
    /// @notice The challenge period ended at `deadline`.
    error ChallengePeriodOver(uint64 deadline);
    /// @notice The challenge period has not ended yet.
    error ChallengePeriodNotOver(uint64 deadline);
    /// @notice The nets and locks given (hashing to `offered`) are not the registered outcome.
    error OutcomeMismatch(bytes32 channelId, bytes32 offered);
    /// @notice `count` locks exceed MAX_LOCKS.
    error TooManyLocks(uint256 count);
    /// @notice The lock list given has root `offered`; the state signed `signed`.
    error LocksMismatch(bytes32 signed, bytes32 offered);
    /// @notice The lock is neither revealed nor expired (nor waited for `MAX_LOCK_WAIT`).
    error LockUnresolved(bytes32 hashlock, uint64 expiry);
    /// @notice A state lowers a cumulative withdrawal.
    error WithdrawalDecreased(address token, uint256 participantIndex);
    /// @notice After the withdrawal the participant would not cover its net and its locks.
    error WithdrawalExceedsBalance(address token, uint256 participantIndex);
    /// @notice Closing without a state is impossible after a withdrawal checkpoint.
    error CheckpointExists(uint64 nonce);
    /// @notice Nothing to claim or recover.
    error NothingClaimable(address token, address holder);
    /// @notice No movement of `token` from `from` to `to` is held.
    error NothingHeld(address token, address from, address to);
    /// @notice The token's rules still refuse the held movement (ERC-1404 `code`).
    error MovementRestricted(address token, address from, address to, uint8 code);
    /// @notice The caller is not the token's controller.
    error NotController(address token, address account);
    /// @notice Recovery applies only to a frozen holder.
    error HolderNotFrozen(address token, address holder);
}
